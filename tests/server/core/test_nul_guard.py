"""A NUL character in a path or query is refused before any lookup (core.nul_guard): the
same 404/400 on SQLite and PostgreSQL, where comparing text with a NUL was a 500."""

from __future__ import annotations

import httpx

from hearth.server.core.models import Post


async def test_a_nul_in_a_path_is_not_found(client: httpx.AsyncClient, post: Post) -> None:
    """A permalink, status page, tag page or short link with `%00` in it: 404."""
    for path in (f"/{post.path}%00", "/webmention/status/%00", "/tag/a%00b", "/s/%00"):
        response = await client.get(path)
        assert 404 == response.status_code, path


async def test_a_nul_in_a_query_is_a_bad_request(client: httpx.AsyncClient, post: Post) -> None:
    """`%00` in a query: 400, saying why."""
    response = await client.get("/micropub", params={"q": "source", "url": "https://x/\x00"})
    assert 400 == response.status_code
    assert "NUL" in response.text


async def test_the_post_itself_is_still_served(client: httpx.AsyncClient, post: Post) -> None:
    """The guard lets everything else through."""
    assert 200 == (await client.get(f"/{post.path}")).status_code
