"""User profile URLs and client identifiers, per https://indieauth.spec.indieweb.org/.

Rules: https://indieauth.spec.indieweb.org/#user-profile-url,
https://indieauth.spec.indieweb.org/#client-identifier and
https://indieauth.spec.indieweb.org/#url-canonicalization. A profile URL is http(s), has a
path, no `.` or `..` segments, no fragment, no user or password, no port, and a domain name
as its host, never an IP address. A client identifier follows the same rules except that it
may have a port, and its host may be the loopback address 127.0.0.1 or [::1].

`allow_private` (the setting `HEARTH_ALLOW_PRIVATE_NETWORKS`, for local and test set-ups)
also lets a profile URL have an IP address host and a port, and a client identifier any IP
address host.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

__all__ = ["ProfileUrlError", "canonical_profile_url", "client_id_error"]

_SCHEMES = ("http", "https")
# A scheme followed by something other than a port number: "mailto:a@b", not "example.com:80".
_OTHER_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]*(?:[/?#]|\Z))")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
_LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


class ProfileUrlError(ValueError):
    """A URL that is not a valid IndieAuth profile URL (or client identifier)."""


def canonical_profile_url(raw: str, *, allow_private: bool) -> str:
    """The canonical form of a user profile URL, or `ProfileUrlError` saying what is wrong.

    A missing scheme becomes `https://`, the scheme and host are lowercased and an empty path
    becomes `/`: "example.com" is "https://example.com/", "HTTP://Example.com" is
    "http://example.com/". The path and query are kept as given.
    """
    text = raw.strip()
    if not text:
        raise ProfileUrlError("The profile URL is empty.")
    if "://" not in text:
        if text.startswith("//"):
            text = "https:" + text
        elif _OTHER_SCHEME.match(text):
            raise ProfileUrlError("A profile URL must use http or https.")
        else:
            text = "https://" + text
    parts, host, port = _checked(text, what="A profile URL")
    ip = _ip(host)
    if ip is not None and not allow_private:
        raise ProfileUrlError("A profile URL's host must be a domain name, not an IP address.")
    if port is not None and not allow_private:
        raise ProfileUrlError("A profile URL must not have a port.")
    return _rebuild(parts, host, port)


def client_id_error(client_id: str, *, allow_private: bool) -> str | None:
    """Why `client_id` is not a valid client identifier, or None when it is.

    Ports are allowed, and so is the loopback address 127.0.0.1 or [::1] as the host; other IP
    addresses only with `allow_private`.
    """
    if "://" not in client_id:
        return "A client identifier must be a full http or https URL."
    try:
        _parts, host, _port = _checked(client_id, what="A client identifier")
    except ProfileUrlError as error:
        return str(error)
    ip = _ip(host)
    if ip is not None and ip not in _LOOPBACK and not allow_private:
        return "A client identifier's host must be a domain name or 127.0.0.1 or [::1]."
    return None


def _checked(text: str, *, what: str) -> tuple[SplitResult, str, int | None]:
    """The parts of an absolute URL, its lowercased host and its port, or `ProfileUrlError`."""
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise ProfileUrlError(f"{what} must not contain spaces or control characters.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise ProfileUrlError(f"{what} is not a valid URL ({error}).") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise ProfileUrlError(f"{what} must use http or https.")
    if "#" in text:
        raise ProfileUrlError(f"{what} must not have a fragment (#...).")
    if "@" in parts.netloc:
        raise ProfileUrlError(f"{what} must not contain a user name or password.")
    host = (parts.hostname or "").lower()
    if not host:
        raise ProfileUrlError(f"{what} must have a host.")
    if _ip(host) is None and (_numeric_host(host) or not _is_domain_name(host)):
        raise ProfileUrlError(f"{what}'s host {host!r} is not a valid domain name or address.")
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        raise ProfileUrlError(f"{what} must not contain '.' or '..' path segments.")
    return parts, host, port


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address `host` is, or None when it is not one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _numeric_host(host: str) -> bool:
    """Whether `host` ends in a numeric label, which WHATWG URL parsing reads as IPv4.

    Such a host ("2887540787", "0x7f.1", "10.0.0.1.") is never a domain name.
    """
    return _NUMERIC_LABEL.fullmatch(host.removesuffix(".").rsplit(".", 1)[-1]) is not None


def _is_domain_name(host: str) -> bool:
    """Whether `host` is a syntactically valid (possibly internationalised) domain name."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.lower().removesuffix(".").split(".")
    return len(ascii_host) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _rebuild(parts: SplitResult, host: str, port: int | None) -> str:
    """The URL from its parts: lowercased scheme and host, `/` for an empty path."""
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
