"""Form-encoded and multipart Micropub requests: create, delete and undelete.

Spec: https://www.w3.org/TR/micropub/#form-encoded-and-multipart-requests (§3.1.1, §3.2),
https://www.w3.org/TR/micropub/#create (§3.3), https://www.w3.org/TR/micropub/#delete (§3.5)

Input is what the endpoint's form parser already produced: the text fields as ordered
`(key, value)` pairs (keys literal, so `category[]` arrives with its brackets) and the names
of the multipart file parts.

Keys:

- `name` and `name[]` are the same property; repeated keys accumulate in order, and a single
  value still becomes a one-element list (§3.3, micropub.rocks 107).
- `name[value]`, `name[alt]`, `name[html]` build one embedded value, as the JSON syntax has
  them: `photo[value]=u&photo[alt]=a` is `{"value": u, "alt": a}` and `content[html]=...` is
  `{"html": ...}` (what micropub.rocks' retired test 105 and PHP-style clients send).
- Any other bracket (`category[0]`, `location[latitude]`, `x[properties][num]`) is refused:
  §3.1.1 says these are not supported, no current client sends them (Quill sends `location` as
  a `geo:` URI), and silently storing `location[latitude]` as a property would lose the
  post's meaning. The error tells the client to use JSON.
- Empty values are dropped (an empty "name" input is no title), except in `mp-photo-alt`,
  where an empty string keeps the place of a photo without alt text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from hearth.micropub.attachments import upload_property
from hearth.micropub.commands import split_properties
from hearth.micropub.errors import InvalidRequest
from hearth.micropub.request import MicropubRequest, create_request
from hearth.micropub.types import Kind

__all__ = ["parse_form"]

_PLAIN_KEY = re.compile(r"^([^\[\]]+)(?:\[\])?$")
_EMBEDDED_KEY = re.compile(r"^([^\[\]]+)\[(value|alt|html)\]$")
# The form actions (§3.5); updates are JSON only (§3.4).
_ACTIONS: dict[str, Kind] = {"delete": "delete", "undelete": "undelete"}


def _embedded(name: str, parts: dict[str, str]) -> Any:
    if "value" not in parts and "html" not in parts:
        raise InvalidRequest(f"{name}[alt] needs a {name}[value] to describe")
    if set(parts) == {"value"}:
        return parts["value"]
    return parts


def _group(fields: Iterable[tuple[str, str]]) -> dict[str, list[Any]]:
    """Values by property name, in first-seen order, embedded objects assembled."""
    grouped: dict[str, list[Any]] = {}
    objects: dict[str, dict[str, str]] = {}
    for key, value in fields:
        if plain := _PLAIN_KEY.match(key):
            grouped.setdefault(plain[1], []).append(value)
            continue
        embedded = _EMBEDDED_KEY.match(key)
        if not embedded or embedded[1].startswith("mp-") or embedded[1] in ("h", "action", "url"):
            raise InvalidRequest(
                f"form key {key!r} is not supported: form encoding has only name and name[] "
                "(Micropub §3.1.1); send nested values as JSON"
            )
        name, part = embedded[1], embedded[2]
        if name not in objects:
            objects[name] = {}
            # The object sits where its first key appeared among the property's values.
            grouped.setdefault(name, []).append(objects[name])
        if part in objects[name]:
            raise InvalidRequest(f"form key {key!r} is repeated; send several objects as JSON")
        objects[name][part] = value
    return {
        name: [_embedded(name, v) if isinstance(v, dict) else v for v in values]
        for name, values in grouped.items()
    }


def _single(name: str, values: Sequence[Any]) -> str | None:
    given = [value for value in values if value]
    if len(given) > 1:
        raise InvalidRequest(f"{name} takes one value, got {len(given)}")
    return given[0] if given else None


def _action(fields: Sequence[tuple[str, str]]) -> MicropubRequest | None:
    """A delete or undelete request, None for a create. Only `action` and `url` count."""

    def values(name: str) -> list[str]:
        return [value for key, value in fields if key in (name, f"{name}[]")]

    action = _single("action", values("action"))
    if action is None:
        return None
    if action == "update":
        raise InvalidRequest("updates must be sent as JSON (Micropub §3.4)")
    kind = _ACTIONS.get(action)
    if kind is None:
        raise InvalidRequest(f"unknown action {action!r}; expected delete or undelete")
    url = _single("url", values("url"))
    if url is None:
        raise InvalidRequest(f"action={action} needs the url of the post")
    return MicropubRequest(kind=kind, url=url)


def parse_form(fields: Iterable[tuple[str, str]], files: Sequence[str] = ()) -> MicropubRequest:
    """Parse a form-encoded body, or the text parts and file part names of a multipart one.

    `files` are the names of the file parts (`photo`, `photo[]`, `video`, `audio`); they
    are checked here, before the endpoint stores anything, and recorded in `uploads`.
    """
    fields = list(fields)
    if (action := _action(fields)) is not None:
        return action
    grouped = _group(fields)
    h_type = _single("h", grouped.get("h", [])) or "entry"
    properties, commands = split_properties(grouped)
    properties = {
        name: kept for name, values in properties.items() if (kept := [v for v in values if v])
    }
    return create_request(h_type, properties, commands, [upload_property(f) for f in files])
