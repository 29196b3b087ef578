"""Government reports: authorities, subscriptions, immutable runs, delivery."""
