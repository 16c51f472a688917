"""Who may see which post on the site's pages: the one rule pages, short links and redirects share.

- Anyone sees published public and unlisted posts (unlisted ones only by their URL).
- The owner also sees every published private post, with an audience or without.
- A signed-in visitor also sees the published private posts whose `audience` names them:
  their canonical `me` is one of the post's `PostAudience` rows.
- Nobody sees drafts on the public site (the owner edits them through Micropub and the
  admin), nor anything deleted.
- A scheduled post (published, its time still to come: `Post.is_scheduled`) is listed
  nowhere, for the owner neither (it would sit above every post until its time); its page
  answers the owner only, who sees it with a "Scheduled for ..." note, and is 404 for
  everyone else until its time.

A post someone may not see answers exactly as a post that does not exist (404, nothing of
it), never 403, which would tell that something is there. Only a deleted post that had a
public page answers 410, its tombstone: that it existed was public already.
"""

from __future__ import annotations

from enum import Enum

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from hearth.server.core.audience import canonical_url
from hearth.server.core.models import Post, PostAudience
from hearth.server.core.posts import public_posts
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.scheduled import has_appeared
from hearth.server.core.viewers import Viewer

__all__ = ["Access", "access_to", "listed_for", "may_see"]


class Access(Enum):
    """How a post's page answers one viewer."""

    SHOW = "show"
    # Deleted, and its page was public: 410.
    GONE = "gone"
    # A draft, someone else's private post, or a deleted one that was never public: 404.
    NOT_FOUND = "not_found"


def _audience_me(viewer: Viewer) -> str | None:
    """The URL a visitor is matched on against audiences (None: they match none)."""
    return canonical_url(viewer.me) if viewer.me else None


def listed_for(viewer: Viewer) -> QuerySet[Post]:
    """The posts the home page lists for `viewer`: the public ones, and the private ones
    they may see. Unlisted posts are never listed, whoever looks."""
    if viewer.owner:
        return Post.filter(
            has_appeared(),
            status=Status.PUBLISHED,
            deleted_at__isnull=True,
            visibility__in=[Visibility.PUBLIC, Visibility.PRIVATE],
        )
    me = _audience_me(viewer)
    if me is None:
        return public_posts()
    # A subquery rather than a join: a join would repeat a post once per audience row.
    shared = Subquery(PostAudience.filter(url=me).values("post_id"))
    return Post.filter(
        Q(visibility=Visibility.PUBLIC) | Q(visibility=Visibility.PRIVATE, id__in=shared),
        has_appeared(),
        status=Status.PUBLISHED,
        deleted_at__isnull=True,
    )


async def may_see(viewer: Viewer, post: Post) -> bool:
    """Whether `viewer` may see `post`'s page (and so be sent to it by a redirect)."""
    if post.deleted_at is not None or post.status != Status.PUBLISHED:
        return False
    if viewer.owner:
        return True
    if post.is_scheduled():
        return False
    if post.visibility != Visibility.PRIVATE:
        return True
    me = _audience_me(viewer)
    return me is not None and await PostAudience.exists(post_id=post.id, url=me)


async def access_to(viewer: Viewer, post: Post) -> Access:
    """How `post`'s page (permalink, short link, former path) answers `viewer`."""
    if await may_see(viewer, post):
        return Access.SHOW
    # `has_page`: published, not private and its time come, so its page was public until
    # it was deleted; unless it was deleted before its time (scheduled, never shown): 404.
    deleted = post.deleted_at
    if deleted is not None and post.has_page and deleted >= post.published:
        return Access.GONE
    return Access.NOT_FOUND
