"""Stored contexts: a job fetches each target of a reply, like, repost or bookmark once, and
the permalink and the home page's h-feed show it as an h-cite in the response property.

Spec: https://indieweb.org/reply-context (markup), https://microformats.org/wiki/h-cite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import mf2py
import pytest
from starlette.applications import Starlette

from hearth.server.contexts import jobs
from hearth.server.contexts.tables import StoredContext
from hearth.server.core import events
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from hearth.server.core.tokens import mint_token
from hearth.wiring import job_handlers
from tests.conftest import BASE_URL
from tests.server.contexts.conftest import Pages

TARGET = "https://bob.example/2026/05/post"
TARGET_PAGE = """<!doctype html><title>Bob</title><article class="h-entry">
<h1 class="p-name">On gardens</h1>
<span class="p-author h-card"><a class="u-url p-name" href="/">Bob Smith</a></span>
<time class="dt-published" datetime="2026-05-01T10:00:00Z">May 1</time>
<div class="e-content"><p>Tomatoes <b>love</b> sun.</p></div></article>"""


@pytest.fixture(name="worker")
async def worker_fixture(app: Starlette, settings: Settings, http: httpx.AsyncClient) -> Worker:
    return Worker(settings, job_handlers(), http=http, worker_id="test-worker")


async def run_jobs(worker: Worker) -> None:
    while await worker.run_once():
        pass


async def reply(settings: Settings, props: dict[str, list[Any]] | None = None) -> Post:
    """A stored reply to TARGET, its change told to the listeners as Micropub tells them."""
    post = await create_post(
        props or {"in-reply-to": [TARGET], "content": ["Mine too!"]},
        published=datetime(2026, 5, 4, tzinfo=UTC),
    )
    await events.post_changed(settings, post)
    return post


def in_reply_to(html: str, url: str) -> list[Any]:
    doc = mf2py.parse(doc=html, url=url)
    entries = [i for i in doc["items"] if "h-entry" in i["type"]]
    if not entries:  # the home page: the entries are the h-feed's children
        feed = next(i for i in doc["items"] if "h-feed" in i["type"])
        entries = feed["children"]
    values: list[Any] = entries[0]["properties"]["in-reply-to"]
    return values


@pytest.fixture(name="micropub_token")
async def micropub_token_fixture(app: Starlette) -> AsyncIterator[str]:
    secret, _ = await mint_token(me=BASE_URL, scope="create update", client_id="https://c.example/")
    yield secret


async def test_a_micropub_reply_gets_its_context_stored_once(
    client: httpx.AsyncClient, worker: Worker, web: Pages, micropub_token: str
) -> None:
    """Created through Micropub: one job per target, which stores the context; running the
    queue again, or a second post replying to the same page, fetches nothing more."""
    web.add(TARGET, TARGET_PAGE)
    auth = {"Authorization": f"Bearer {micropub_token}"}
    for text in ("First", "Second"):
        made = await client.post(
            "/micropub", data={"h": "entry", "in-reply-to": TARGET, "content": text}, headers=auth
        )
        assert 201 == made.status_code, made.text
        await run_jobs(worker)
    await run_jobs(worker)
    (row,) = await StoredContext.all()
    assert (TARGET, "On gardens", "Bob Smith", "https://bob.example/") == (
        row.url,
        row.name,
        row.author_name,
        row.author_url,
    )
    assert ("Tomatoes love sun.", "2026-05-01T10:00:00Z") == (row.snippet, row.published)
    assert [TARGET] == web.fetched
    assert 1 == await Job.filter(kind=jobs.KIND).count()


async def test_the_same_change_queues_the_fetch_once(settings: Settings, worker: Worker) -> None:
    """Told twice of one stored change (a retried request), the listener queues one job."""
    post = await reply(settings)
    await events.post_changed(settings, post)
    assert 1 == await Job.filter(kind=jobs.KIND).count()


async def test_permalink_and_feed_show_the_context_as_an_h_cite(
    client: httpx.AsyncClient, settings: Settings, worker: Worker, web: Pages
) -> None:
    """`u-in-reply-to h-cite`: parsers read the target's URL, name, author and snippet."""
    web.add(TARGET, TARGET_PAGE)
    post = await reply(settings)
    before = (await client.get("/" + post.path)).text
    assert [TARGET] == in_reply_to(before, BASE_URL + post.path)  # a bare link until fetched
    await run_jobs(worker)
    for path in ("/" + post.path, "/"):
        (cite,) = in_reply_to((await client.get(path)).text, BASE_URL + path)
        assert ["h-cite"] == cite["type"]
        props = cite["properties"]
        assert TARGET == cite["value"]
        assert [TARGET] == props["url"]
        assert ["On gardens"] == props["name"]
        assert ["Bob Smith"] == props["author"][0]["properties"]["name"]
        assert ["https://bob.example/"] == props["author"][0]["properties"]["url"]
        assert "Tomatoes love sun." == props["content"][0].strip()
        assert props["published"][0].startswith("2026-05-01T10:00:00")


async def test_a_context_given_by_the_client_is_shown_as_given(
    client: httpx.AsyncClient, settings: Settings, worker: Worker, web: Pages
) -> None:
    """An h-cite with a name sent by the client: nothing is fetched, it is shown as sent."""
    cite = {
        "type": ["h-cite"],
        "properties": {"url": [TARGET], "name": ["As I saw it"], "author": ["Bob"]},
    }
    post = await reply(settings, {"like-of": [cite]})
    await run_jobs(worker)
    assert 0 == await Job.filter(kind=jobs.KIND).count()
    assert [] == web.fetched
    html = (await client.get("/" + post.path)).text
    doc = mf2py.parse(doc=html, url=BASE_URL + post.path)
    (liked,) = doc["items"][0]["properties"]["like-of"]
    assert ["As I saw it"] == liked["properties"]["name"]


async def test_a_failing_target_is_retried_then_left_as_a_link(
    client: httpx.AsyncClient, settings: Settings, worker: Worker, web: Pages
) -> None:
    """A 503 is retried (the job waits); a 404 ends at once; neither stores anything."""
    web.add(TARGET, "busy", status=503)
    web.add(TARGET + "/gone", "no", status=404)
    await reply(settings, {"in-reply-to": [TARGET], "bookmark-of": [TARGET + "/gone"]})
    await run_jobs(worker)
    states = {job.payload["url"]: job.state for job in await Job.filter(kind=jobs.KIND)}
    assert {TARGET: JobState.QUEUED, TARGET + "/gone": JobState.DONE} == states
    assert 0 == await StoredContext.all().count()


async def test_deleted_posts_queue_nothing(settings: Settings, worker: Worker) -> None:
    post = await create_post({"in-reply-to": [TARGET], "content": ["x"]})
    post.deleted_at = datetime.now(UTC)
    await post.save()
    await events.post_changed(settings, post)
    assert 0 == await Job.filter(kind=jobs.KIND).count()
