"""The media store (hearth.server.core.media.files): unguessable names, exact types out."""

from __future__ import annotations

import httpx

from hearth.server.core.media.files import media_url, store_media
from hearth.server.core.settings import Settings


async def test_stored_file_served_with_exact_type(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """A stored GIF comes back byte for byte as image/gif, with nosniff."""
    data = b"GIF89a" + bytes(range(256)) * 10
    media = await store_media(settings, data, "image/gif", "x.gif")
    response = await client.get(media_url(settings, media))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/gif"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert data == response.content


async def test_names_are_unguessable_and_distinct(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """Two stores of the same bytes get different long random names."""
    first = await store_media(settings, b"same", "audio/mpeg")
    second = await store_media(settings, b"same", "audio/mpeg")
    assert first.name != second.name
    assert len(first.name.split(".")[0]) >= 32
    assert first.name.endswith(".mp3")


async def test_unknown_media_is_404(client: httpx.AsyncClient) -> None:
    """A name that was never stored answers 404, also for path tricks."""
    for name in ("nothere123456789012.jpg", "..%2Fsecret_key", "secret_key"):
        assert (await client.get(f"/media/{name}")).status_code == 404
