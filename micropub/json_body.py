"""JSON Micropub requests: create, update, delete and undelete.

Spec: https://www.w3.org/TR/micropub/#json-syntax (§3.3.2: `{"type": ["h-entry"],
"properties": {...}}`, every value an array),
https://www.w3.org/TR/micropub/#nested-microformats-objects (§3.3.3),
https://www.w3.org/TR/micropub/#update (§3.4), https://www.w3.org/TR/micropub/#delete (§3.5)

Property values are kept verbatim (strings, numbers such as a checkin's latitude, HTML
content objects, photo objects with alt text, nested mf2 items, and unknown properties, which
§3.3.5 says must not fail the request; keeping them lets `q=source` return them). What is
checked is the shape the spec requires: arrays at the top level and inside nested items, so
that `q=source` later hands back well-formed mf2.

`mp-*` commands may be properties (`"mp-slug": ["x"]`) or top-level keys (`"mp-slug": "x"`);
both are merged. §3.2 reserves `access_token`, `h`, `action` and `url` for forms only;
Hearth drops them from the top level of JSON `properties` as well, so one rule holds for both
syntaxes: the token is never stored, and a post's `url` is the server's to assign. Nested
items keep theirs (a checkin's h-card has a `url`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from hearth.micropub.commands import build_commands, split_properties
from hearth.micropub.errors import InvalidRequest
from hearth.micropub.request import MicropubRequest, create_request
from hearth.micropub.types import Kind
from hearth.micropub.updates import parse_update

__all__ = ["parse_json"]

_ACTIONS: dict[str, Kind] = {"update": "update", "delete": "delete", "undelete": "undelete"}


def _load(body: bytes) -> dict[str, Any]:
    try:
        # A UTF-8 byte order mark is tolerated; orjson itself would refuse it.
        doc = orjson.loads(body.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidRequest("the body must be a JSON object")
    return doc


def _check_item(where: str, item: Mapping[str, Any]) -> None:
    """A nested mf2 item (§3.3.3) needs a type list and, if present, properties of arrays."""
    kind = item.get("type")
    if not isinstance(kind, list) or not kind or not all(isinstance(t, str) for t in kind):
        raise InvalidRequest(f"{where}: a nested object's type must be an array of strings")
    properties = item.get("properties", {})
    if not isinstance(properties, dict):
        raise InvalidRequest(f"{where}: a nested object's properties must be an object")
    _check_properties(f"{where}.properties", properties)


def _check_properties(where: str, properties: Mapping[str, Any]) -> None:
    for name, values in properties.items():
        if not isinstance(values, list):
            raise InvalidRequest(f"{where}.{name} must be an array, even for a single value")
        for value in values:
            if isinstance(value, dict) and "type" in value:
                _check_item(f"{where}.{name}", value)


def _h_type(doc: Mapping[str, Any]) -> str:
    kind = doc.get("type", ["h-entry"])
    if (
        not isinstance(kind, list)
        or len(kind) != 1
        or not isinstance(kind[0], str)
        or not kind[0].startswith("h-")
    ):
        raise InvalidRequest('type must be an array with one mf2 type, such as ["h-entry"]')
    return kind[0].removeprefix("h-")


def _top_level_commands(doc: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        name: value if isinstance(value, list) else [value]
        for name, value in doc.items()
        if name.startswith("mp-")
    }


def _merge(*commands: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for each in commands:
        for name, values in each.items():
            merged.setdefault(name, []).extend(values)
    return merged


def _create(doc: Mapping[str, Any]) -> MicropubRequest:
    h_type = _h_type(doc)
    raw = doc.get("properties")
    if not isinstance(raw, dict):
        raise InvalidRequest("a JSON create needs a properties object")
    _check_properties("properties", raw)
    properties, commands = split_properties(raw)
    return create_request(h_type, properties, _merge(commands, _top_level_commands(doc)))


def _action(doc: Mapping[str, Any]) -> MicropubRequest:
    action = doc["action"]
    kind = _ACTIONS.get(action) if isinstance(action, str) else None
    if kind is None:
        raise InvalidRequest(f"unknown action {action!r}; expected update, delete or undelete")
    url = doc.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"action {action} needs the url of the post, as a string")
    if kind != "update":
        return MicropubRequest(kind=kind, url=url)
    update, commands = parse_update(doc)
    _check_properties("replace", update.replace)
    _check_properties("add", update.add)
    return MicropubRequest(
        kind="update",
        url=url,
        update=update,
        # Status and visibility of an update follow from `apply_update`'s result.
        commands=build_commands(_merge(commands, _top_level_commands(doc)), {}),
    )


def parse_json(body: bytes) -> MicropubRequest:
    """Parse a JSON Micropub body (any `application/json` request)."""
    doc = _load(body)
    if "action" in doc:
        return _action(doc)
    return _create(doc)
