"""Hearth as an IndieAuth client: https://indieauth.spec.indieweb.org/#client-information-discovery

Hearth's `client_id` is `{site}indieauth/client`. Fetched for JSON (the default) it is the
Client ID Metadata Document: client_id, client_name, client_uri, logo_uri, redirect_uris.
A request that prefers text/html over JSON gets a small page with an h-app and
`<link rel="redirect_uri">`, for servers that read the older microformats form.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hearth.server.core.render import owner_card
from hearth.server.core.settings import Settings
from hearth.server.core.web import render, settings_of

__all__ = ["CALLBACK_PATH", "CLIENT_PATH", "client_id", "prefers_html", "redirect_uri", "routes"]

CLIENT_PATH = "/indieauth/client"
CALLBACK_PATH = "/signin/callback"
FAVICON_PATH = "/static/favicon.svg"


def client_id(settings: Settings) -> str:
    return settings.absolute(CLIENT_PATH)


def redirect_uri(settings: Settings) -> str:
    return settings.absolute(CALLBACK_PATH)


def _quality(accept: str, media_type: str) -> float:
    """The q-value `accept` gives `media_type` (the most specific matching range wins)."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for item in accept.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        name = name.lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name)
        if specificity is None or specificity < best[0]:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = (specificity, q)
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """Whether `accept` rates text/html above application/json (JSON when tied)."""
    if not accept:
        return False
    return _quality(accept, "text/html") > _quality(accept, "application/json")


async def client(request: Request) -> Response:
    settings = settings_of(request)
    card = await owner_card(settings)
    document = {
        "client_id": client_id(settings),
        "client_name": card.name,
        "client_uri": settings.url,
        "logo_uri": card.photo or settings.absolute(FAVICON_PATH),
        "redirect_uris": [redirect_uri(settings)],
    }
    if prefers_html(request.headers.get("accept")):
        response = await render(request, "indieauth/client.html", {"client": document})
        response.headers["Vary"] = f"{response.headers['Vary']}, Accept"
        return response
    return JSONResponse(document, headers={"Vary": "Accept", "Cache-Control": "max-age=3600"})


routes = [Route(CLIENT_PATH, client, methods=["GET"], name="indieauth_client")]
