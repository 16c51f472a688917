"""The admin's Posts page: every post, 50 a page, newest first, filtered and searched.

Each row has the post's title (or the start of its text), type, status (published, draft,
or scheduled while a published post's time is still to come), visibility and date, links
to its editor and its permalink, and, once deleted, a mark and an Undelete form. A GET
form filters by type, status and visibility and searches by words
(`hearth.server.core.search`); the filters and the paging cursor live in the page's query
string (`/admin/posts?type=note&q=beach&before=...`), so the `rel=next` and `rel=prev`
links keep the filters and any page can be bookmarked. Counts by status and visibility
close the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from hearth.server.core import post_types, posts
from hearth.server.core.models import AdminSession, Post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.render import entry_view
from hearth.server.core.search import matching
from hearth.server.core.settings import Settings
from hearth.server.core.web import settings_of

__all__ = ["PAGE_SIZE", "PAGE_URL", "PostFilters", "PostRow", "load_posts"]

PAGE_SIZE = 50
PAGE_URL = "/admin/posts"
NEW_POST_URL = "/admin/posts/new"
# The longest search text kept (more is cut off, never refused).
MAX_SEARCH = 200
TYPES = tuple(post_types.SHORT_LETTERS)
DELETED = "deleted"
SCHEDULED = "scheduled"
# Published, scheduled (published, its time to come) and draft are the live posts of that
# status; deleted is every deleted post.
STATUSES = (Status.PUBLISHED.value, SCHEDULED, Status.DRAFT.value, DELETED)
VISIBILITIES = tuple(v.value for v in Visibility)


@dataclass(frozen=True)
class PostFilters:
    """What the list shows, read from the page's query string ("" is "any")."""

    post_type: str = ""
    status: str = ""
    visibility: str = ""
    search: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> PostFilters:
        """The filters in `params`; a value that is not an option counts as "any"."""

        def choice(name: str, options: tuple[str, ...]) -> str:
            value = params.get(name, "")
            return value if value in options else ""

        return cls(
            post_type=choice("type", TYPES),
            status=choice("status", STATUSES),
            visibility=choice("visibility", VISIBILITIES),
            search=" ".join(params.get("q", "").split())[:MAX_SEARCH],
        )

    @property
    def active(self) -> bool:
        return self != PostFilters()

    def apply(self, query: QuerySet[Post], now: datetime) -> QuerySet[Post]:
        """`query` narrowed to the posts these filters let through (scheduled: after `now`)."""
        if self.post_type:
            query = query.filter(post_type=self.post_type)
        if self.status == DELETED:
            query = query.filter(deleted_at__isnull=False)
        elif self.status == SCHEDULED:
            query = query.filter(status=Status.PUBLISHED, published__gt=now)
        elif self.status == Status.PUBLISHED:
            query = query.filter(status=Status.PUBLISHED, published__lte=now)
        elif self.status:
            query = query.filter(status=Status(self.status))
        if self.status and self.status != DELETED:
            query = query.filter(deleted_at__isnull=True)
        if self.visibility:
            query = query.filter(visibility=Visibility(self.visibility))
        if self.search:
            query = query.filter(matching(self.search))
        return query

    def url(self, **cursor: str) -> str:
        """The Posts page with these filters (and a cursor, e.g. `before=...`)."""
        params = {
            "q": self.search,
            "type": self.post_type,
            "status": self.status,
            "visibility": self.visibility,
            **cursor,
        }
        query = urlencode({name: value for name, value in params.items() if value})
        return f"{PAGE_URL}?{query}" if query else PAGE_URL


@dataclass(frozen=True)
class PostRow:
    id: int
    title: str
    url: str
    edit_url: str
    undelete_url: str
    post_type: str
    status: str
    visibility: str
    published: datetime
    deleted: bool


def status_of(post: Post, now: datetime) -> str:
    """published, draft, or scheduled for a published post whose time is still to come."""
    if post.status == Status.PUBLISHED and post.published > now:
        return SCHEDULED
    return Status(post.status).value


def post_row(post: Post, settings: Settings, now: datetime) -> PostRow:
    return PostRow(
        id=post.id,
        title=entry_view(post, settings).title,
        url=settings.absolute(post.path),
        edit_url=f"/admin/posts/{post.id}/edit",
        undelete_url=f"/admin/posts/{post.id}/undelete",
        post_type=post.post_type,
        status=status_of(post, now),
        visibility=Visibility(post.visibility).value,
        published=post.published,
        deleted=post.deleted_at is not None,
    )


async def _counts() -> Mapping[str, Any]:
    """Live posts by status and visibility, and how many are deleted."""
    rows = (
        await Post.filter(deleted_at__isnull=True)
        .annotate(n=Count("id"))
        .group_by("status", "visibility")
        .values("status", "visibility", "n")
    )
    counts = {(Status(r["status"]).value, Visibility(r["visibility"]).value): r["n"] for r in rows}
    return {
        "counts": [
            {"status": s.value, "visibility": v.value, "count": counts.get((s.value, v.value), 0)}
            for s in Status
            for v in Visibility
        ],
        "live": sum(counts.values()),
        "deleted": await Post.filter(deleted_at__isnull=False).count(),
    }


async def load_posts(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """The Posts section: one page of the filtered list, its paging links, and the counts.

    A cursor that Hearth did not make shows the first page.
    """
    settings = settings_of(request)
    params = request.query_params
    filters = PostFilters.from_query(params)
    now = datetime.now(UTC)  # exact: a post due within this second is not out yet
    query = filters.apply(Post.all(), now)
    try:
        page = await posts.page_of(
            query, limit=PAGE_SIZE, before=params.get("before"), after=params.get("after")
        )
    except posts.CursorError:
        page = await posts.page_of(query, limit=PAGE_SIZE)
    return {
        "filters": filters,
        "types": TYPES,
        "statuses": STATUSES,
        "visibilities": VISIBILITIES,
        "new_post_url": NEW_POST_URL,
        "page_url": PAGE_URL,
        "rows": [post_row(post, settings, now) for post in page.posts],
        "matches": await query.count() if filters.active else None,
        "next_url": filters.url(before=page.before) if page.before else None,
        "prev_url": filters.url(after=page.after) if page.after else None,
        "clear_url": PAGE_URL if filters.active else None,
        **await _counts(),
    }
