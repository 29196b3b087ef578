"""The marketplace: members' listings at their own prices, traced to the logbook, and
orders that never sell more than a listing holds."""
