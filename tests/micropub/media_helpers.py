"""Helpers for the media endpoint tests: tokens, an upload call, an app with other settings.

The files themselves are built by `tests.server.core.media.media_data.factory`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from hearth.app import create_app
from hearth.server.core.settings import Settings
from hearth.server.core.tokens import mint_token

ME = "https://example.test/"
ENDPOINT = "/micropub/media"


async def token(scope: str = "media") -> str:
    """A fresh bearer token with `scope`."""
    secret, _ = await mint_token(me=ME, scope=scope)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    secret: str | None = None,
    filename: str = "upload.bin",
    content_type: str = "application/octet-stream",
    url: str = ENDPOINT,
    **kwargs: Any,
) -> httpx.Response:
    """POST `data` as the one `file` part, with `secret` (if given) as a Bearer header."""
    headers = bearer(secret) if secret else {}
    files = {"file": (filename, data, content_type)}
    return await client.post(url, files=files, headers=headers, **kwargs)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app built from `settings` (for tests that need other settings)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
            yield client
