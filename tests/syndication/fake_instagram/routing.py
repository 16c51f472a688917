"""The ASGI app: every route of the fake, bound to one FakeInstagram."""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Route

from tests.syndication.fake_instagram import api, cdn, oauth

if TYPE_CHECKING:
    from tests.syndication.fake_instagram.state import FakeInstagram

_VERSION = re.compile(r"^/v\d+(\.\d+)?(?=/)")


def build_app(fake: FakeInstagram) -> Any:
    """Serve `fake`, ignoring any leading `/vNN.N` and logging each call in `fake.requests`."""
    routes = [
        Route("/oauth/authorize", partial(oauth.authorize, fake)),
        Route("/oauth/access_token", partial(oauth.oauth_token, fake), methods=["POST"]),
        Route("/access_token", partial(oauth.exchange_token, fake)),
        Route("/refresh_access_token", partial(oauth.refresh_token, fake)),
        Route("/cdn/{name}", partial(cdn.cdn, fake)),
        Route("/p/{shortcode}/", partial(cdn.permalink_page, fake)),
        Route("/me", partial(api.me, fake)),
        Route("/{node}/{edge}", partial(api.edge, fake), methods=["GET", "POST"]),
        Route("/{node}", partial(api.node, fake), methods=["GET", "POST", "DELETE"]),
    ]
    inner = Starlette(routes=routes)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "path": _VERSION.sub("", scope["path"])}
            fake.requests.append((scope["method"], scope["path"]))
        await inner(scope, receive, send)

    return app
