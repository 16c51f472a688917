"""The editor's form: every field as the page shows it, read from a post or from a submit.

`EditorForm` holds what the owner sees and types (strings, in the site's time zone), never
mf2 properties: `from_source` fills it from a post's `q=source` properties, `from_form`
from a submitted form, and `hearth.micropub.editor.translate` turns it into a Micropub
create or update. Comparing the form a post opened with to the one sent back tells which
fields the owner changed, so an edit touches nothing else (see `translate`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from hearth.micropub.editor.markdown import source_of
from hearth.micropub.editor.times import local_input
from hearth.server.core.post_types import first_text

__all__ = ["LINK_FIELDS", "EditorForm", "PhotoField", "from_form", "from_source"]

# The URL a response is about: property (also the form field's name), then its label.
LINK_FIELDS = (
    ("in-reply-to", "Reply to"),
    ("like-of", "Like of"),
    ("repost-of", "Repost of"),
    ("bookmark-of", "Bookmark of"),
)
STATUSES = ("published", "draft")
VISIBILITIES = ("public", "unlisted", "private")
# Uploaded photos are kept in the form as numbered hidden fields: photo-1-url, photo-1-alt.
_PHOTO_FIELD = re.compile(r"^photo-(\d{1,3})-(url|alt)$")


@dataclass
class PhotoField:
    url: str
    alt: str = ""


@dataclass
class EditorForm:
    """The editor's fields, as strings the way the page shows them."""

    name: str = ""
    content: str = ""
    photos: list[PhotoField] = field(default_factory=list)
    video: str = ""
    # Tags, separated by commas.
    category: str = ""
    # Property -> URL, for each of LINK_FIELDS.
    links: dict[str, str] = field(default_factory=dict)
    status: str = "published"
    visibility: str = "public"
    # Profile URLs, one a line (private posts).
    audience: str = ""
    # A datetime-local value in the site's zone; "" means now.
    published: str = ""
    syndicate_to: list[str] = field(default_factory=list)

    def link(self, prop: str) -> str:
        return self.links.get(prop, "")

    def tags(self) -> list[str]:
        return list(dict.fromkeys(t.strip() for t in self.category.split(",") if t.strip()))

    def audience_urls(self) -> list[str]:
        return list(dict.fromkeys(u.strip() for u in self.audience.splitlines() if u.strip()))


def _url_of(value: Any) -> str:
    """A URL value as text: a string, `{"value": url}`, or an h-cite/h-card's first url."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        props = value.get("properties")
        if isinstance(props, Mapping) and isinstance(props.get("url"), list) and props["url"]:
            return _url_of(props["url"][0])
        inner = value.get("value")
        return inner if isinstance(inner, str) else ""
    return ""


def _photo_of(value: Any) -> PhotoField | None:
    url = _url_of(value)
    if not url:
        return None
    alt = value.get("alt") if isinstance(value, Mapping) else None
    return PhotoField(url, alt if isinstance(alt, str) else "")


def from_source(properties: Mapping[str, list[Any]], zone: str) -> EditorForm:
    """The form for a post's properties (as `q=source` gives them, `published` included)."""

    def values(name: str) -> list[Any]:
        found = properties.get(name)
        return found if isinstance(found, list) else []

    contents = values("content")
    status = first_text(properties, "post-status")
    visibility = first_text(properties, "visibility")
    published = values("published")
    return EditorForm(
        name=first_text(properties, "name"),
        content=source_of(contents[0]) if contents else "",
        photos=[p for v in values("photo") if (p := _photo_of(v)) is not None],
        video=_url_of(values("video")[0]) if values("video") else "",
        category=", ".join(c for c in values("category") if isinstance(c, str)),
        links={prop: _url_of(values(prop)[0]) for prop, _ in LINK_FIELDS if values(prop)},
        status=status if status in STATUSES else "published",
        visibility=visibility if visibility in VISIBILITIES else "public",
        audience="\n".join(u for v in values("audience") if (u := _url_of(v))),
        published=local_input(published[0], zone) if published else "",
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    # Browsers send textarea lines with CRLF; the source is kept with plain newlines.
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def _photos(form: FormData) -> list[PhotoField]:
    numbered: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and (match := _PHOTO_FIELD.match(key)):
            numbered.setdefault(int(match[1]), {})[match[2]] = value
    return [
        PhotoField(parts["url"], parts.get("alt", "").strip())
        for _, parts in sorted(numbered.items())
        if parts.get("url", "").strip()
    ]


def from_form(form: FormData) -> EditorForm:
    """The fields of a submitted editor form (unknown or missing ones empty)."""
    return EditorForm(
        name=_text(form, "name").strip(),
        content=_text(form, "content"),
        photos=_photos(form),
        video=_text(form, "video").strip(),
        category=_text(form, "category").strip(),
        links={prop: url for prop, _ in LINK_FIELDS if (url := _text(form, prop).strip())},
        status=_text(form, "post-status") or "published",
        visibility=_text(form, "visibility") or "public",
        audience=_text(form, "audience").strip(),
        published=_text(form, "published").strip(),
        syndicate_to=[v for v in form.getlist("mp-syndicate-to") if isinstance(v, str) and v],
    )
