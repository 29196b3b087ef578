"""The problem-solving forum: threads and replies, tags, votes, follows, accepted
solutions, Spanish search, flags and moderation."""
