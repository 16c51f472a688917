"""Post Type Discovery: what kind of post an mf2 item is.

Spec: https://www.w3.org/TR/post-type-discovery/

Pure functions over mf2 properties (dicts of lists), shared by storage, rendering and the
Micropub endpoint.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from typing import Any

import nh3

Properties = Mapping[str, list[Any]]

# Response properties in the order the algorithm checks them.
_RESPONSE_TYPES = (
    ("repost-of", "repost"),
    ("like-of", "like"),
    ("bookmark-of", "bookmark"),
    ("quotation-of", "quotation"),
    ("checkin", "checkin"),
    ("video", "video"),
    ("audio", "audio"),
    ("photo", "photo"),
)

# The permashortlink letter of each post type (NewBase60 has no I, O or l).
SHORT_LETTERS = {
    "note": "t",
    "article": "a",
    "photo": "p",
    "video": "v",
    "audio": "u",
    "reply": "r",
    "rsvp": "y",
    "like": "f",
    "repost": "s",
    "bookmark": "b",
    "quotation": "q",
    "checkin": "c",
    "event": "e",
}

_SPACE = re.compile(r"\s+")


def text_of(value: Any) -> str:
    """The plain text of a property value: a string, or an embedded object's value."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = value.get("value")
        if isinstance(inner, str):
            return inner
        html = value.get("html")
        if isinstance(html, str):
            # nh3 with no allowed tags keeps the text and drops script/style bodies entirely.
            return html_lib.unescape(nh3.clean(html, tags=set()))
        properties = value.get("properties")
        names = properties.get("name", []) if isinstance(properties, Mapping) else []
        return text_of(names[0]) if isinstance(names, list) and names else ""
    return str(value)


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def first_text(properties: Properties, name: str) -> str:
    values = properties.get(name) or []
    return text_of(values[0]) if values else ""


def has_title(properties: Properties) -> bool:
    """Whether the item's name is a real title rather than an implied copy of its content."""
    name = _collapse(first_text(properties, "name"))
    if not name:
        return False
    content = _collapse(first_text(properties, "content") or first_text(properties, "summary"))
    # A name that merely repeats the start of the content is an implied name, not a title.
    return not (content and content.startswith(name))


def discover(h_type: str, properties: Properties) -> str:
    """The post type of an `h-{h_type}` item, per the spec's algorithm (plus RSVP/checkin)."""
    if h_type == "event":
        return "event"
    if properties.get("rsvp") and properties.get("in-reply-to"):
        return "rsvp"
    for prop, post_type in _RESPONSE_TYPES:
        if properties.get(prop):
            return post_type
    if properties.get("in-reply-to"):
        return "reply"
    return "article" if has_title(properties) else "note"


def is_titled(h_type: str, properties: Properties) -> bool:
    """Whether the post's name is rendered as p-name (events always show theirs)."""
    if h_type == "event":
        return bool(first_text(properties, "name"))
    return has_title(properties)
