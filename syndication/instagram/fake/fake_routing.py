"""The ASGI app: every route of the fake, bound to one fake's state; and `FakeInstagram`."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from hearth.syndication.instagram.fake import fake_api, fake_cdn, fake_oauth
from hearth.syndication.instagram.fake.fake_state import FakeState

_VERSION = re.compile(r"^/v\d+(\.\d+)?(?=/)")


class FakeInstagram(FakeState):
    """One fake Instagram: the account's state and switches (`FakeState`), and its app."""

    def app(self) -> Any:
        """The ASGI app serving this fake's API, OAuth endpoints, CDN and permalink pages."""
        return build_app(self)


def build_app(fake: FakeState) -> Any:
    """Serve `fake`, ignoring any leading `/vNN.N` and logging each call in `fake.requests`."""
    routes = [
        Route("/oauth/authorize", partial(fake_oauth.authorize, fake)),
        Route("/oauth/access_token", partial(fake_oauth.oauth_token, fake), methods=["POST"]),
        Route("/access_token", partial(fake_oauth.exchange_token, fake)),
        Route("/refresh_access_token", partial(fake_oauth.refresh_token, fake)),
        Route("/cdn/{name}", partial(fake_cdn.cdn, fake)),
        Route("/p/{shortcode}/", partial(fake_cdn.permalink_page, fake)),
        Route("/me", partial(fake_api.me, fake)),
        Route("/{node}/{edge}", partial(fake_api.edge, fake), methods=["GET", "POST"]),
        Route("/{node}", partial(fake_api.node, fake), methods=["GET", "POST", "DELETE"]),
    ]
    inner = Starlette(routes=routes)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "path": _VERSION.sub("", scope["path"])}
            fake.requests.append((scope["method"], scope["path"]))
        await inner(scope, receive, send)

    return app
