"""Helpers for the media endpoint tests: tokens and an upload call.

The files themselves are built by `tests.server.core.media.media_data.factory`.
"""

from __future__ import annotations

from typing import Any

import httpx

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
