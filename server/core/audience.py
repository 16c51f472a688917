"""Who a private post is for: its `audience` property, as canonical profile URLs.

Micropub clients send `audience` beside `visibility=private`
(https://indieweb.org/Micropub-extensions#Visibility, https://indieweb.org/audience): each
value a profile URL, or an h-card whose `url` names the person. A visitor matches when their
`me` (the profile URL they signed in with) is one of those URLs. Both sides go through
`canonical_url` before they are compared, the rules of IndieAuth §3.4
(https://indieauth.spec.indieweb.org/#url-canonicalization) plus dropping a default port, so
"https://Friend.example" in a post is the visitor "https://friend.example/".

This is the core's own small version on purpose: the IndieAuth feature validates profile
URLs when someone signs in, and the core imports no feature. Here nothing is refused but
what cannot name a site at all: a post keeps whatever its client sent, and a value no one
can sign in as simply matches no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["audience_urls", "canonical_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# The longest URL a PostAudience row holds (its column's length).
MAX_URL = 512


def canonical_url(raw: str) -> str | None:
    """`raw` as a canonical http(s) profile URL, or None when it cannot be one.

    Whitespace around it goes; a missing scheme becomes https (IndieAuth §3.4 lets people
    type just the host); scheme and host are lowercased; a default port and any fragment
    are dropped; an empty path becomes "/". Path and query are kept as given.
    """
    text = raw.strip()
    if not text or any(char.isspace() for char in text):
        return None
    if "://" not in text:
        text = "https:" + text if text.startswith("//") else "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    url = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return url if len(url) <= MAX_URL else None


def _urls_of(value: Any) -> list[str]:
    """The URLs one `audience` value names: itself, or an h-card's `url` values."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        properties = value.get("properties")
        urls = properties.get("url") if isinstance(properties, Mapping) else None
        found = [url for url in urls if isinstance(url, str)] if isinstance(urls, list) else []
        # An embedded h-card's `value` is its URL only when parsed from a u-* property;
        # otherwise it is a name, which must not be read as a host.
        plain = value.get("value")
        if isinstance(plain, str) and "://" in plain:
            found.append(plain)
        return found
    return []


def audience_urls(properties: Mapping[str, list[Any]]) -> set[str]:
    """The canonical profile URLs a post's `audience` names (values that name none left out)."""
    found = set()
    for value in properties.get("audience", []):
        for url in _urls_of(value):
            if (canonical := canonical_url(url)) is not None:
                found.add(canonical)
    return found
