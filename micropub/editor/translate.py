"""From the editor's form to Micropub requests, parsed by the endpoint's own JSON parser.

The editor builds the JSON body a Micropub client would send (§3.3.2 create, §3.4 update,
§3.5 delete and undelete) and hands it to `hearth.micropub.parsing.parse_json`, so it gets
exactly the endpoint's validation and errors. A create sends every filled field. An edit
sends only what the owner changed: each field of the form the post opened with is compared
with the one sent back, and a changed field `replace`s its property (or `delete`s it when
emptied). So properties the editor does not show (a checkin, Quill's HTML content nobody
touched, a photo's extra keys) stay exactly as they were.

A few fields are checked here first: a URL field (Reply to, Like of, Repost of, Bookmark
of, a video) that is not an absolute http(s) URL, and a publication time that is not one.
Micropub itself stores any string there, which no page can link to; the editor refuses it
with a description shown like Micropub's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from hearth.micropub.editor.fields import LINK_FIELDS, EditorForm, PhotoField
from hearth.micropub.editor.markdown import content_value
from hearth.micropub.editor.times import parse_local, to_rfc3339
from hearth.micropub.errors import InvalidRequest
from hearth.micropub.parsing import MicropubRequest, parse_json

__all__ = ["action_request", "check", "create_request", "field_properties", "update_request"]

_LABELS = dict(LINK_FIELDS) | {"video": "Video"}


def _absolute_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check(form: EditorForm, zone: str) -> None:
    """400 for what the editor's own inputs would not send (see the module docstring)."""
    for prop, url in [*form.links.items(), ("video", form.video)]:
        if url and not _absolute_url(url):
            label = _LABELS[prop]
            raise InvalidRequest(f"{label} must be an http:// or https:// URL, got {url!r}")
    if form.published:
        try:
            parse_local(form.published, zone)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None


def _photo_value(photo: PhotoField) -> Any:
    return {"value": photo.url, "alt": photo.alt} if photo.alt else photo.url


def field_properties(form: EditorForm, zone: str, status: str) -> dict[str, list[Any]]:
    """Each property the editor manages, as this form fills it ([] when empty)."""
    published = to_rfc3339(parse_local(form.published, zone)) if form.published else ""
    return {
        "name": [form.name] if form.name else [],
        "content": [content_value(form.content)] if form.content.strip() else [],
        "photo": [_photo_value(photo) for photo in form.photos],
        "video": [form.video] if form.video else [],
        "category": list(form.tags()),
        **{prop: [url] for prop, _ in LINK_FIELDS if (url := form.link(prop))},
        **{prop: [] for prop, _ in LINK_FIELDS if not form.link(prop)},
        # Defaults are left out, as most clients leave them out.
        "post-status": [status] if status != "published" else [],
        "visibility": [form.visibility] if form.visibility != "public" else [],
        "audience": form.audience_urls(),
        "published": [published] if published else [],
    }


def _parse(doc: Mapping[str, Any]) -> MicropubRequest:
    return parse_json(orjson.dumps(doc))


def create_request(form: EditorForm, zone: str, status: str) -> MicropubRequest:
    """The Micropub create for a new post."""
    check(form, zone)
    properties = {k: v for k, v in field_properties(form, zone, status).items() if v}
    doc: dict[str, Any] = {"type": ["h-entry"], "properties": properties}
    if form.syndicate_to:
        doc["mp-syndicate-to"] = form.syndicate_to
    return _parse(doc)


def _kept(name: str, new: list[Any], stored: Sequence[Any]) -> list[Any]:
    """A changed property's new values, keeping what the form cannot show of the old ones."""
    if name == "category":
        # Person tags (h-cards) are not in the Tags field: they stay.
        return new + [value for value in stored if not isinstance(value, str)]
    if name == "video":
        return new + list(stored[1:])  # the field shows the first video only
    if name == "photo":
        # A photo the owner left as it was keeps its stored value, extra keys and all.
        by_value = {orjson.dumps(_photo_value_of(v)): v for v in stored}
        return [by_value.get(orjson.dumps(value), value) for value in new]
    return new


def _photo_value_of(stored: Any) -> Any:
    if isinstance(stored, Mapping):
        url, alt = stored.get("value"), stored.get("alt")
        return {"value": url, "alt": alt} if alt else url
    return stored


def update_request(
    url: str,
    stored: Mapping[str, list[Any]],
    opened: tuple[EditorForm, str],
    sent: tuple[EditorForm, str],
    zone: str,
) -> MicropubRequest | None:
    """The Micropub update for what changed between the form as opened and as sent back
    (each with its post-status); None when nothing did."""
    check(sent[0], zone)
    before = field_properties(opened[0], zone, opened[1])
    after = field_properties(sent[0], zone, sent[1])
    replace: dict[str, list[Any]] = {}
    delete: list[str] = []
    for name, values in after.items():
        if values == before.get(name):
            continue
        kept = _kept(name, values, stored.get(name, []))
        if kept:
            replace[name] = kept
        elif name in stored:
            delete.append(name)
    if not replace and not delete:
        return None
    doc: dict[str, Any] = {"action": "update", "url": url}
    if replace:
        doc["replace"] = replace
    if delete:
        doc["delete"] = delete
    return _parse(doc)


def action_request(kind: str, url: str) -> MicropubRequest:
    """A delete or undelete of the post at `url`."""
    return _parse({"action": kind, "url": url})
