"""One member, one vote: a cooperative's proposals, secret ballots with receipts, and
results recorded when the voting window closes."""
