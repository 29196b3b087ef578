"""A member's in-app notification feed (marketplace matches and orders, forum replies)."""
