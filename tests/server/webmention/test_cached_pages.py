"""Responses and the shared page cache (hearth.server.core.page_cache): a response shown or
hidden, in the admin or by the verification job, is on the post's next page at once, and
the other posts' cached pages stay (a post's change bumps its own generation only)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Interaction, InteractionState, Post
from hearth.server.core.posts import create_post
from tests.server.cache_helpers import path_of, queries_fixture, warm
from tests.server.webmention.receive_support import FakeWeb, permalink, received, reply_page

__all__ = ["queries_fixture"]  # a fixture, used by name

SOURCE = "https://alice.example/replies/1"
SAID = "What a cached post"


async def waiting(post: Post) -> Interaction:
    """A verified reply waiting for approval."""
    return await Interaction.create(
        source=SOURCE,
        target=permalink(post),
        post=post,
        domain="alice.example",
        source_target_hash=SOURCE,
        status_token="token-1",
        kind="reply",
        state=InteractionState.ACCEPTED,
        author_name="Alice",
        content_text=SAID,
    )


async def other_post() -> Post:
    published = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
    return await create_post({"content": ["Another post"]}, slug="other", published=published)


async def test_approved_in_the_admin_shows_and_keeps_other_pages(
    client: httpx.AsyncClient,
    signed_in: str,
    post: Post,
    anonymous: httpx.AsyncClient,
    queries: list[str],
) -> None:
    other = await other_post()
    response = await waiting(post)
    await warm(anonymous, path_of(permalink(post)), path_of(permalink(other)))
    assert SAID not in (await anonymous.get(path_of(permalink(post)))).text
    approve = f"/admin/webmentions/{response.id}/approve"
    assert 303 == (await client.post(approve, data={"csrf_token": signed_in})).status_code
    assert SAID in (await anonymous.get(path_of(permalink(post)))).text
    queries.clear()
    assert 200 == (await anonymous.get(path_of(permalink(other)))).status_code
    assert [] == queries  # still the cached page


async def test_hidden_in_the_admin_is_gone(
    client: httpx.AsyncClient, signed_in: str, post: Post, anonymous: httpx.AsyncClient
) -> None:
    response = await waiting(post)
    approve = f"/admin/webmentions/{response.id}/approve"
    await client.post(approve, data={"csrf_token": signed_in})
    await warm(anonymous, path_of(permalink(post)))
    assert SAID in (await anonymous.get(path_of(permalink(post)))).text
    hide = f"/admin/webmentions/{response.id}/hide"
    assert 303 == (await client.post(hide, data={"csrf_token": signed_in})).status_code
    assert SAID not in (await anonymous.get(path_of(permalink(post)))).text


async def test_verified_by_the_worker_shows(
    client: httpx.AsyncClient,
    worker: Worker,
    web: FakeWeb,
    post: Post,
    anonymous: httpx.AsyncClient,
) -> None:
    """The verification job (moderation `all`) shows the reply: the job's unit of work bumps
    the post's generation when it ends, after its commits."""
    await warm(anonymous, path_of(permalink(post)), "/")
    web.add(SOURCE, reply_page(permalink(post), SAID))
    await received(client, worker, SOURCE, permalink(post))
    assert SAID in (await anonymous.get(path_of(permalink(post)))).text
