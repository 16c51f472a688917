"""Link contexts: what a reply, like, repost or bookmark points at (name, author, snippet)."""
