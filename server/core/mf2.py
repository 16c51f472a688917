"""Values from another site's microformats, and the one spelling URLs are compared in.

The mf2 JSON shape: https://microformats.org/wiki/microformats2-parsing. A stranger's mf2
can hold anything where a property value should be: every reader here skips what is not of
the expected shape instead of failing.

Webmention verification (https://www.w3.org/TR/webmention/#webmention-verification: a link
to the target, found in the source; its `response_fields`, `entry`) and link contexts
(`hearth.server.contexts`, https://indieweb.org/reply-context) share these readers, and
`hearth.server.core.authorship` (who wrote an entry).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_NAME = 120
_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")


def normalize_url(
    value: str, base: str | None = None, *, keep_fragment: bool = False
) -> str | None:
    """`value` as an absolute http(s) URL in one canonical spelling, or None.

    Relative values are resolved against `base`. The scheme and host are lower-cased, a
    default port and any user info are dropped, an empty path becomes "/" and, unless
    `keep_fragment`, the fragment is removed. Anything else is kept as it is.
    """
    try:
        parts = urlsplit(urljoin(base, value.strip()) if base else value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, fragment))


def _walk(items: Any) -> Iterator[Any]:
    """Every property value of `items` and of their nested items and children."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        properties = item.get("properties")
        for values in properties.values() if isinstance(properties, Mapping) else []:
            for value in values if isinstance(values, list) else []:
                yield value
                if isinstance(value, Mapping) and "type" in value:
                    yield from _walk([value])
        yield from _walk(item.get("children"))


def property_strings(items: Any) -> Iterator[str]:
    """The plain values in mf2 `items`: strings, and `value` of objects."""
    for value in _walk(items):
        if isinstance(value, str):
            yield value
        elif isinstance(value, Mapping) and isinstance(value.get("value"), str):
            yield value["value"]


def plain(value: Any, limit: int = MAX_NAME) -> str | None:
    """A one-line text: whitespace and control characters collapsed, cut to `limit`."""
    text = _SPACE.sub(" ", value).strip()[:limit] if isinstance(value, str) else ""
    return text or None


def properties(item: Mapping[str, Any] | None) -> Mapping[str, list[Any]]:
    """The `properties` of an mf2 item; empty for anything else."""
    found = item.get("properties") if item else None
    return found if isinstance(found, Mapping) else {}


def item_types(item: Any) -> list[str]:
    """The `type` list of an mf2 item (`["h-entry"]`); empty for anything else.

    Only the strings of a list count: a stranger's `"type": null` or `"type": "h-entry"`
    (a string, where `"h-entry" in` would match substrings) is no type.
    """
    types = item.get("type") if isinstance(item, Mapping) else None
    return [t for t in types if isinstance(t, str)] if isinstance(types, list) else []


def values_of(container: Any, name: str) -> list[Any]:
    """`container[name]` if `container` is a mapping and that is a list; else empty.

    For the lists of a stranger's mf2 (`items`, `children`, `rels`' values, a property's
    values), which may hold any JSON value instead.
    """
    found = container.get(name) if isinstance(container, Mapping) else None
    return found if isinstance(found, list) else []


def url_values(values: Any, base: str, *, keep_fragment: bool = False) -> list[str]:
    """The URLs in property values: strings, an object's `value` and its `url`s."""
    found = []
    for value in values if isinstance(values, list) else []:
        raw: list[Any] = [value]
        if isinstance(value, Mapping):
            raw = [value.get("value"), *properties(value).get("url", [])]
        for candidate in raw:
            url = (
                normalize_url(candidate, base, keep_fragment=keep_fragment)
                if isinstance(candidate, str)
                else None
            )
            if url and url not in found:
                found.append(url)
    return found


def first_value(values: Any) -> str | None:
    """The first of a property's values, an object's `value` in place of the object.

    Unchecked: in a stranger's mf2 JSON it can be any JSON value, so callers test for str.
    """
    first = values[0] if isinstance(values, list) and values else None
    return first.get("value") if isinstance(first, Mapping) else first
