"""Turning stored posts into what templates and feeds show.

Templates get an `EntryView`: plain values already resolved to absolute URLs and sanitized
HTML, so the markup in `templates/` only decides which microformats class goes where. The
views of single property values (photos, nested h-cards, dates ...) are in
`hearth.server.core.render_types`, which also says what an mf2 parser gets back from the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup

from hearth.server.core import post_types
from hearth.server.core.models import Post, SiteSetting
from hearth.server.core.render_types import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    Embedded,
    Field,
    Moment,
    Photo,
    Value,
    Video,
    as_list,
    contents,
    embedded,
    moment,
    person_tag,
    photos,
    safe_url,
    safe_urls,
    sanitize_html,
    scalar_text,
    texts,
    value_view,
    videos,
)
from hearth.server.core.settings import Settings
from hearth.server.core.timestamps import rfc3339

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "RESPONSE_PROPERTIES",
    "RSVP_LABELS",
    "ContextLink",
    "EntryView",
    "OwnerCard",
    "Photo",
    "entry_view",
    "owner_card",
    "sanitize_html",
]

# Response properties shown as context links, with the mf2 class and a human label.
RESPONSE_PROPERTIES = (
    ("in-reply-to", "u-in-reply-to", "In reply to"),
    ("like-of", "u-like-of", "Liked"),
    ("repost-of", "u-repost-of", "Reposted"),
    ("bookmark-of", "u-bookmark-of", "Bookmarked"),
)
# The label of an RSVP's in-reply-to link, by `rsvp` value (https://indieweb.org/rsvp).
RSVP_LABELS = {
    "yes": "Going to",
    "no": "Not going to",
    "maybe": "Maybe going to",
    "interested": "Interested in",
}
# A heading for posts without a name, so every permalink has one (shown to screen readers).
_TYPE_HEADINGS = {
    "note": "Note",
    "article": "Article",
    "photo": "Photo",
    "video": "Video",
    "audio": "Audio",
    "reply": "Reply",
    "rsvp": "RSVP",
    "like": "Like",
    "repost": "Repost",
    "bookmark": "Bookmark",
    "quotation": "Quotation",
    "checkin": "Check-in",
    "event": "Event",
}
_COORDINATES = ("latitude", "longitude", "altitude")


@dataclass(frozen=True)
class ContextLink:
    """What a response is about: "In reply to <url>", "Liked <url>" ...

    `cite` is set when the client sent an h-cite (name, author, content) rather than a URL;
    `url` is then the cite's URL. `rsvp` is the RSVP value carried by this link's label.
    """

    property: str
    css_class: str
    label: str
    url: str
    cite: Embedded | None = None
    rsvp: str | None = None


@dataclass(frozen=True)
class OwnerCard:
    url: str
    name: str
    photo: str | None
    note: str | None


@dataclass(frozen=True)
class EntryView:
    post: Post
    url: str
    short_url: str
    h_type: str
    post_type: str
    name: str | None
    content_html: Markup | None
    content_text: str
    summary: str | None
    published: datetime
    updated: datetime | None
    photos: list[Photo] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    audios: list[str] = field(default_factory=list)
    # Plain-string tags (person tags are in `person_tags`).
    categories: list[str] = field(default_factory=list)
    syndication: list[str] = field(default_factory=list)
    context: list[ContextLink] = field(default_factory=list)
    # dt-published and dt-updated: the client's own strings when it sent them.
    published_at: Moment | None = None
    updated_at: Moment | None = None
    # A name that only repeats the start of the content: kept as data, not shown.
    hidden_name: str | None = None
    featured: list[Photo] = field(default_factory=list)
    video_players: list[Video] = field(default_factory=list)
    person_tags: list[Embedded] = field(default_factory=list)
    # RSVP values not already shown as the label of an in-reply-to link.
    rsvp: list[str] = field(default_factory=list)
    quotations: list[Value] = field(default_factory=list)
    checkins: list[Value] = field(default_factory=list)
    locations: list[Value] = field(default_factory=list)
    coordinates: list[Field] = field(default_factory=list)
    start: list[Moment] = field(default_factory=list)
    end: list[Moment] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """A label for page titles and feed items, also for untitled notes."""
        if self.name:
            return self.name
        text = " ".join(self.content_text.split())
        return text[:70] + ("…" if len(text) > 70 else "") or self.post_type.capitalize()

    @property
    def heading(self) -> str:
        """The permalink's heading when the post has no name of its own."""
        return _TYPE_HEADINGS.get(self.post_type, self.post_type.capitalize())


def _context(props: Mapping[str, list[Any]], base: str) -> tuple[list[ContextLink], list[str]]:
    """The context links, and the RSVP values no in-reply-to link carries."""
    rsvp = texts(as_list(props, "rsvp"))
    links: list[ContextLink] = []
    for prop, css, label in RESPONSE_PROPERTIES:
        for value in as_list(props, prop):
            cite = None
            if isinstance(value, Mapping) and "type" in value:
                cite = embedded(value, base)
                if cite is None or not cite.urls:
                    continue  # a context needs somewhere to point
                url: str | None = cite.urls[0]
            else:
                url = safe_url(value, base)
            if url is None:
                continue
            carried = None
            if prop == "in-reply-to" and rsvp and not any(link.rsvp for link in links):
                carried = rsvp.pop(0)
            shown = RSVP_LABELS.get(carried, f"RSVP {carried} to") if carried else label
            links.append(ContextLink(prop, css, shown, url, cite=cite, rsvp=carried))
    return links, rsvp


def _moment_of(props: Mapping[str, list[Any]], name: str) -> Moment | None:
    """A date property as the client wrote it, if it is one."""
    found = texts(as_list(props, name))
    if not found:
        return None
    sent = moment(found[0])
    return sent if sent.datetime else None


def _stored_moment(value: datetime) -> Moment:
    return moment(rfc3339(value))


def _values(props: Mapping[str, list[Any]], name: str, base: str) -> list[Value]:
    return [v for value in as_list(props, name) if (v := value_view(value, base)) is not None]


def entry_view(post: Post, settings: Settings) -> EntryView:
    props = post.properties
    url = settings.absolute(post.path)
    titled = post_types.is_titled(post.h_type, props)
    content = contents(as_list(props, "content"), url)
    first = content[0] if content else None
    summary = post_types.first_text(props, "summary") or None
    name = post_types.first_text(props, "name") or None
    context, rsvp = _context(props, url)
    categories = as_list(props, "category")
    return EntryView(
        post=post,
        url=url,
        short_url=settings.absolute(f"s/{post.short_code}"),
        h_type=post.h_type,
        post_type=post.post_type,
        name=name if titled else None,
        content_html=first.html if first else None,
        content_text=first.text if first else "",
        summary=summary,
        published=post.published,
        updated=post.updated,
        photos=photos(as_list(props, "photo"), url),
        videos=safe_urls(as_list(props, "video"), url),
        audios=safe_urls(as_list(props, "audio"), url),
        categories=[
            c for c in categories if isinstance(c, str) and c.strip() and not person_tag(c, url)
        ],
        syndication=safe_urls(as_list(props, "syndication"), url),
        context=context,
        published_at=_moment_of(props, "published") or _stored_moment(post.published),
        updated_at=_moment_of(props, "updated")
        or (_stored_moment(post.updated) if post.updated else None),
        hidden_name=name if name and not titled else None,
        featured=photos(as_list(props, "featured"), url),
        video_players=videos(as_list(props, "video"), url),
        person_tags=[tag for c in categories if (tag := person_tag(c, url)) is not None],
        rsvp=rsvp,
        quotations=_values(props, "quotation-of", url),
        checkins=_values(props, "checkin", url),
        locations=_values(props, "location", url),
        coordinates=[
            Field(prop, text) for prop in _COORDINATES for text in texts(as_list(props, prop))
        ],
        start=[moment(t) for t in texts(as_list(props, "start"))],
        end=[moment(t) for t in texts(as_list(props, "end"))],
        descriptions=[t for v in as_list(props, "description") if (t := scalar_text(v))],
    )


async def owner_card(settings: Settings) -> OwnerCard:
    """The owner's h-card: settings from the environment, overridden in the admin."""
    stored = await SiteSetting.get_or_none(key="hcard")
    overrides: Mapping[str, Any] = stored.value if stored and isinstance(stored.value, dict) else {}
    return OwnerCard(
        url=settings.url,
        name=overrides.get("name") or settings.name,
        photo=overrides.get("photo") or settings.photo,
        note=overrides.get("note") or settings.note,
    )
