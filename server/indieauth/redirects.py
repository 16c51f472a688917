"""Redirect URIs: https://indieauth.spec.indieweb.org/#redirect-url.

A redirect URI is accepted when it has the client identifier's scheme, host and port, or
when the client's metadata lists it exactly (its `redirect_uris`, or `rel=redirect_uri`
links from older clients). The answer goes back to it as query parameters added to any
query it already has (RFC 6749 §4.1.2, https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_plus, urlencode, urlsplit, urlunsplit

__all__ = ["redirect_uri_allowed", "same_origin", "with_query"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """The (scheme, host, port) of an http(s) URL, default ports filled in; None if not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), port if port is not None else _DEFAULT_PORTS[scheme]


def same_origin(client_id: str, redirect_uri: str) -> bool:
    """Whether both URLs are http(s) with the same scheme, host and port."""
    origin = _origin(client_id)
    return origin is not None and origin == _origin(redirect_uri)


def redirect_uri_allowed(client_id: str, redirect_uri: str, listed: Iterable[str]) -> bool:
    """Whether the server may send the answer for `client_id` to `redirect_uri`.

    It must have no fragment (RFC 6749 §3.1.2), and either share the client identifier's
    origin or be one of `listed`, the client's published redirect URIs, exactly.
    """
    if "#" in redirect_uri:
        return False
    return same_origin(client_id, redirect_uri) or redirect_uri in set(listed)


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """`uri` with `params` (e.g. `code`, `state`, `iss` or `error`) added to its query.

    The existing query is kept as written, except parameters of the same names, which the
    new values replace.
    """
    parts = urlsplit(uri)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote_plus(pair.split("=", 1)[0]) not in params
    ]
    added = urlencode(dict(params), quote_via=quote)
    query = "&".join([*kept, added] if added else kept)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
