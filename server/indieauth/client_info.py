"""What a client says about itself: name, logo, URL and redirect URIs.

Spec: https://indieauth.spec.indieweb.org/#client-information-discovery. Hearth reads a
Client ID Metadata Document (JSON, whose `client_id` must be the URL it was fetched from)
or, for older clients, the page's `h-app` / `h-x-app` and its `rel=redirect_uri` links
(https://indieauth.spec.indieweb.org/20220212/#redirect-url). It fetches through the
guarded client with size and time limits, and never fetches a loopback client_id
(127.0.0.1, [::1], localhost) unless private networks are allowed: the spec forbids it, and
it would let a stranger make the server call itself. A client that says nothing is still
named by its URL.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import mf2py

from hearth.server.core.http import fetch
from hearth.server.core.settings import Settings

__all__ = ["ClientInfo", "fetch_client_info"]

log = logging.getLogger(__name__)

MAX_BYTES = 512 * 1024
TOTAL_TIMEOUT = 8.0
ACCEPT = "application/json, text/html;q=0.9, */*;q=0.1"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    name: str | None = None
    logo: str | None = None
    url: str | None = None
    redirect_uris: tuple[str, ...] = field(default_factory=tuple)
    # Why nothing could be read (shown to the owner), or None.
    problem: str | None = None

    @property
    def display_name(self) -> str:
        return self.name or urlsplit(self.client_id).netloc or self.client_id


def _text(value: Any, limit: int = 255) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:limit]
    return None


def _http_url(value: Any, base: str) -> str | None:
    text = _text(value, 2048)
    if text is None:
        return None
    url = urljoin(base, text)
    return url if urlsplit(url).scheme in ("http", "https") else None


def _from_json(client_id: str, body: bytes) -> ClientInfo | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("client_id") != client_id:
        return None
    uris = data.get("redirect_uris")
    listed = tuple(u for u in uris if isinstance(u, str)) if isinstance(uris, list) else ()
    client_uri = _http_url(data.get("client_uri"), client_id)
    return ClientInfo(
        client_id=client_id,
        name=_text(data.get("client_name")),
        logo=_http_url(data.get("logo_uri"), client_id),
        # client_uri must be a prefix of client_id (§4.2); anything else is not shown.
        url=client_uri if client_uri and client_id.startswith(client_uri) else None,
        redirect_uris=listed,
    )


def _first(props: dict[str, list[Any]], name: str) -> Any:
    values = props.get(name) or [None]
    value = values[0]
    if isinstance(value, dict):  # an embedded item, or {"value": ..., "alt": ...}
        return value.get("value") or (value.get("properties", {}).get("url") or [None])[0]
    return value


def _from_html(client_id: str, final_url: str, html: str, link_header: str) -> ClientInfo:
    parsed = mf2py.parse(doc=html, url=final_url)
    listed = [urljoin(final_url, u) for u in parsed.get("rels", {}).get("redirect_uri", [])]
    for link in httpx.Response(200, headers={"Link": link_header}).links.values():
        if "redirect_uri" in (link.get("rel") or "").split():
            listed.append(urljoin(final_url, link.get("url", "")))
    name = logo = url = None
    for item in parsed.get("items", []):
        if {"h-app", "h-x-app"} & set(item.get("type", [])):
            props = item.get("properties", {})
            name = _text(_first(props, "name"))
            logo = _http_url(_first(props, "logo"), final_url)
            url = _http_url(_first(props, "url"), final_url)
            break
    return ClientInfo(client_id, name=name, logo=logo, url=url, redirect_uris=tuple(listed))


def may_fetch(client_id: str, settings: Settings) -> bool:
    host = (urlsplit(client_id).hostname or "").lower()
    return host not in _LOOPBACK_HOSTS or bool(settings.allowed_private_networks)


async def fetch_client_info(
    client: httpx.AsyncClient, client_id: str, settings: Settings
) -> ClientInfo:
    """What `client_id`'s page says about the app; a bare `ClientInfo` if nothing usable."""
    if not may_fetch(client_id, settings):
        return ClientInfo(client_id, problem="A client on this computer is not fetched.")
    try:
        response = await fetch(
            client,
            "GET",
            client_id,
            headers={"Accept": ACCEPT},
            max_bytes=MAX_BYTES,
            total_timeout=TOTAL_TIMEOUT,
        )
    except httpx.HTTPError as error:
        log.info("client information for %s not fetched: %s", client_id, type(error).__name__)
        return ClientInfo(client_id, problem="Its page could not be fetched.")
    if response.status_code != 200:
        return ClientInfo(client_id, problem=f"Its page answered HTTP {response.status_code}.")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return _from_json(client_id, response.content) or ClientInfo(
            client_id, problem="Its metadata document is not valid for this client_id."
        )
    if content_type in ("text/html", "application/xhtml+xml"):
        return _from_html(
            client_id, str(response.url), response.text, response.headers.get("link", "")
        )
    return ClientInfo(client_id, problem="Its page says nothing about the app.")
