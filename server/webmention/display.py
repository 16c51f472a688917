"""The responses a permalink shows, and the counts an h-feed entry shows.

Spec: https://www.w3.org/TR/webmention/#security-considerations (displayed data is
filtered against XSS: content is sanitized again on the way out), markup after
https://indieweb.org/comments-presentation and https://microformats.org/wiki/h-cite.

Shown means verified (`accepted`), approved and not a duplicate of another copy. Replies
are threaded through `parent` (a reply to another shown reply); likes and reposts make
facepiles; bookmarks, RSVPs and mentions are lists. `templates/_responses.html` renders a
`ResponsesView` given as `responses`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime

from markupsafe import Markup
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from hearth.server.core.hrefs import valid_href
from hearth.server.core.models import Approval, Interaction, InteractionState, Post
from hearth.server.webmention.entry import clean_html
from hearth.server.webmention.moderation import domain_of

RSVP_LABELS = {
    "yes": "is going",
    "no": "is not going",
    "maybe": "might go",
    "interested": "is interested",
}
# Response kind -> the Counts field it adds to.
_COUNTED = {
    "reply": "replies",
    "like": "likes",
    "repost": "reposts",
    "bookmark": "bookmarks",
    "rsvp": "rsvps",
    "mention": "mentions",
}


@dataclass(frozen=True)
class Counts:
    """How many responses of each kind a post shows."""

    replies: int = 0
    likes: int = 0
    reposts: int = 0
    bookmarks: int = 0
    rsvps: int = 0
    mentions: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class AuthorView:
    name: str
    url: str | None
    # Always a local (cached) image URL, or None.
    photo: str | None


@dataclass
class ResponseView:
    id: int
    kind: str
    url: str
    author: AuthorView
    published: datetime | None
    content_html: Markup | None
    content_text: str | None
    rsvp: str | None
    children: list[ResponseView] = field(default_factory=list)

    @property
    def rsvp_label(self) -> str:
        return RSVP_LABELS.get(self.rsvp or "", "")


@dataclass(frozen=True)
class ResponsesView:
    """Everything `_responses.html` shows; `replies` are the thread roots."""

    replies: list[ResponseView]
    likes: list[ResponseView]
    reposts: list[ResponseView]
    bookmarks: list[ResponseView]
    rsvps: list[ResponseView]
    mentions: list[ResponseView]
    counts: Counts
    # When any response to the post last changed (shown or not): for Last-Modified.
    updated: datetime | None = None


def shown() -> QuerySet[Interaction]:
    """Responses a page may show."""
    return Interaction.filter(
        state=InteractionState.ACCEPTED, approval=Approval.APPROVED, duplicate_of_id__isnull=True
    )


def response_view(row: Interaction) -> ResponseView:
    """One response as shown; its URLs spelled as HTML requires (a stranger's page may link
    to `https://a.example/my reply` with the space left in)."""
    author_url = row.author_url
    name = row.author_name or domain_of(author_url or row.url or row.source)
    html = Markup(clean_html(row.content_html)) if row.content_html else None  # noqa: S704
    photo = valid_href(row.author_photo) if row.author_photo else None
    return ResponseView(
        id=row.id,
        kind=row.kind,
        url=valid_href(row.url or row.source),
        author=AuthorView(
            name=name, url=valid_href(author_url) if author_url else None, photo=photo
        ),
        published=row.published,
        content_html=html,
        content_text=row.content_text,
        rsvp=row.rsvp,
    )


def _thread(rows: list[Interaction]) -> list[ResponseView]:
    """Replies nested under the shown reply they answer, in `rows`' order.

    Only a parent with a lower id counts, so no thread can loop.
    """
    views = {row.id: response_view(row) for row in rows}
    roots = []
    for row in rows:
        parent_id = row.parent_id  # type: ignore[attr-defined]
        if parent_id in views and parent_id < row.id:
            views[parent_id].children.append(views[row.id])
        else:
            roots.append(views[row.id])
    return roots


async def responses_for(post: Post) -> ResponsesView:
    """The responses `post`'s permalink shows, oldest first."""
    rows = await shown().filter(post_id=post.id)
    by_kind: dict[str, list[Interaction]] = {kind: [] for kind in _COUNTED}
    for row in sorted(rows, key=lambda r: (r.published or r.created_at, r.id)):
        by_kind.setdefault(row.kind, []).append(row)
    counts = Counts(**{_COUNTED[k]: len(v) for k, v in by_kind.items() if k in _COUNTED})
    return ResponsesView(
        replies=_thread(by_kind["reply"]),
        likes=[response_view(r) for r in by_kind["like"]],
        reposts=[response_view(r) for r in by_kind["repost"]],
        bookmarks=[response_view(r) for r in by_kind["bookmark"]],
        rsvps=[response_view(r) for r in by_kind["rsvp"]],
        mentions=[response_view(r) for r in by_kind["mention"]],
        counts=counts,
        updated=await _last_change(post),
    )


async def _last_change(post: Post) -> datetime | None:
    latest = await Interaction.filter(post_id=post.id).order_by("-updated_at").first()
    return latest.updated_at if latest is not None else None


async def counts_for(posts: Iterable[Post]) -> dict[int, Counts]:
    """Shown responses per kind for each of `posts` (one query), keyed by post id."""
    ids = [post.id for post in posts]
    totals: dict[int, dict[str, int]] = {post_id: {} for post_id in ids}
    if ids:
        rows = (
            await shown()
            .filter(post_id__in=ids)
            .annotate(n=Count("id"))
            .group_by("post_id", "kind")
            .values("post_id", "kind", "n")
        )
        for row in rows:
            if row["kind"] in _COUNTED:
                totals[row["post_id"]][_COUNTED[row["kind"]]] = row["n"]
    return {post_id: Counts(**values) for post_id, values in totals.items()}
