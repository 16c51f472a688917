"""The link contexts' table (Tortoise app "contexts").

(No semicolons in the model docstrings: Tortoise copies them into the SQL that makes the
tables, where one ends the statement.)

One row per target URL, shared by every post that replies to, likes, reposts or bookmarks
it: what `hearth.server.contexts.fetching` read from the target, shown on the posts' pages
(https://indieweb.org/reply-context).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class StoredContext(Model):
    """What a link target said about itself when it was last fetched (name, author, snippet)."""

    id = fields.IntField(primary_key=True)
    # SHA-256 of `url`: URLs are too long for a unique index everywhere.
    url_hash = fields.CharField(max_length=64, unique=True)
    # The URL as the post's page links to it.
    url = fields.CharField(max_length=2048)
    name = fields.CharField(max_length=255, null=True)
    author_name = fields.CharField(max_length=255, null=True)
    author_url = fields.CharField(max_length=2048, null=True)
    author_photo = fields.CharField(max_length=2048, null=True)
    # Plain text, at most 280 characters.
    snippet = fields.TextField(null=True)
    # The target's own published value, as it wrote it.
    published = fields.CharField(max_length=64, null=True)
    fetched_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "link_contexts"
