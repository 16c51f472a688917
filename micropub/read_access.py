"""Which posts a token may read back through `q=source` and `q=category`.

Spec: https://www.w3.org/TR/micropub/#source-content (§3.7.2) says nothing of who may read
what; scope names: https://indieweb.org/scope#Micropub_Scopes.

The rule: drafts, scheduled (published, their time still to come), unlisted and private
posts are read only with the `read` scope (readers ask for it) or the `update` scope (an
editor must read a post to edit it). Any other token (`create`, `draft`, `media` ...) reads
what the public site lists: published, public posts whose time has come.
A post it may not read answers as a URL with no post at all, so that a token learns
nothing of it, not even that it exists. Deleted posts are never listed.
"""

from __future__ import annotations

from tortoise.queryset import QuerySet

from hearth.server.core import posts
from hearth.server.core.models import Post, Token
from hearth.server.core.publication import Status, Visibility

__all__ = ["READ_SCOPES", "may_read", "readable_posts", "reads_everything"]

# Either one lets a token read every post, whatever its status and visibility.
READ_SCOPES = frozenset({"read", "update"})


def reads_everything(token: Token) -> bool:
    """Whether `token` may read drafts and non-public posts too."""
    return bool(token.scopes & READ_SCOPES)


def readable_posts(token: Token) -> QuerySet[Post]:
    """The posts `token` may list (deleted ones never)."""
    if reads_everything(token):
        return Post.filter(deleted_at__isnull=True)
    return posts.public_posts()


def may_read(token: Token, post: Post) -> bool:
    """Whether `token` may read `post` by its URL (deleted or not: the caller says which).

    Without a reading scope only a public, published post whose time has come; a deleted
    one still counts as such, since its tombstone at that URL is public too.
    """
    if reads_everything(token):
        return True
    return (
        post.status == Status.PUBLISHED
        and post.visibility == Visibility.PUBLIC
        and not post.is_scheduled()
    )
