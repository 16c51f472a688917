"""The status page in the endpoint's Location (hearth.server.webmention.receive.status).

Spec: https://www.w3.org/TR/webmention/#receiving-webmentions ("a status page which the
sender can use to check the status"); issue 4: pending, accepted, rejected (why), deleted.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Post
from tests.server.webmention.receive_support import (
    FakeWeb,
    deliver,
    html_page,
    permalink,
    reply_page,
    run_jobs,
)

SOURCE = "https://alice.example/replies/1"


async def status_of(
    client: httpx.AsyncClient, location: str, *, json: bool = False
) -> httpx.Response:
    headers = {"Accept": "application/json"} if json else {}
    return await client.get(location, headers=headers)


async def sent(client: httpx.AsyncClient, post: Post) -> str:
    answer = await deliver(client, SOURCE, permalink(post))
    return answer.headers["location"]


async def test_pending_status_page(client: httpx.AsyncClient, post: Post) -> None:
    """Before verification the page says pending, with the source and target."""
    page = await status_of(client, await sent(client, post))
    assert 200 == page.status_code
    assert "Webmention status: pending" in page.text
    assert SOURCE in page.text and permalink(post) in page.text


async def test_status_as_json(client: httpx.AsyncClient, post: Post) -> None:
    """`Accept: application/json` gets the same facts as JSON."""
    page = await status_of(client, await sent(client, post), json=True)
    assert {
        "source": SOURCE,
        "target": permalink(post),
        "status": "pending",
        "reason": None,
        "approval": "waiting",
        "shown": False,
    } == {k: v for k, v in page.json().items() if k != "updated"}


async def test_accepted_status_page(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Verified and shown: accepted, and on the post."""
    web.add(SOURCE, reply_page(permalink(post)))
    location = await sent(client, post)
    await run_jobs(worker)
    page = await status_of(client, location)
    assert "Webmention status: accepted" in page.text
    assert "It is shown on the post." in page.text


async def test_accepted_waiting_for_approval(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Verified but held by moderation: the page says it waits for the owner."""
    worker.settings = replace(worker.settings, moderation="manual")
    web.add(SOURCE, reply_page(permalink(post)))
    location = await sent(client, post)
    await run_jobs(worker)
    data = (await status_of(client, location, json=True)).json()
    assert ("accepted", "waiting", False) == (data["status"], data["approval"], data["shown"])
    assert "once the site's owner approves it" in (await status_of(client, location)).text


async def test_rejected_status_page_says_why(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Rejected, with the reason."""
    web.add(SOURCE, html_page("<p>No link here.</p>"))
    location = await sent(client, post)
    await run_jobs(worker)
    page = await status_of(client, location)
    assert "Webmention status: rejected" in page.text
    assert "Why: the source does not link to the target" in page.text


async def test_deleted_status_page(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A response whose source went away is deleted."""
    web.add(SOURCE, reply_page(permalink(post)))
    location = await sent(client, post)
    await run_jobs(worker)
    web.add(SOURCE, "gone", status=410)
    await sent(client, post)
    await run_jobs(worker)
    data = (await status_of(client, location, json=True)).json()
    assert ("deleted", "the source is gone (HTTP 410)") == (data["status"], data["reason"])


async def test_unknown_status_token_is_404(client: httpx.AsyncClient) -> None:
    """Tokens are unguessable; a wrong one finds nothing."""
    assert 404 == (await client.get("/webmention/status/nope")).status_code


async def test_status_page_is_not_indexed_and_escapes_urls(
    client: httpx.AsyncClient, post: Post
) -> None:
    """The page asks robots to stay away and shows the sender's URL escaped."""
    answer = await deliver(client, SOURCE + '?q="><script>', permalink(post))
    html = (await status_of(client, answer.headers["location"])).text
    assert '<meta name="robots" content="noindex">' in html
    assert "<script>" not in html.split("</head>", 1)[1]
