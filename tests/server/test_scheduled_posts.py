"""Scheduled posts (issue #12): a post whose `published` time is still to come.

It stays hidden until then (home page, tag pages, the tags page, the three feeds, its
permalink and short link, Micropub `q=source` for tokens that cannot read drafts), except to
the owner, who sees its page with a "Scheduled for ..." note. Nothing is announced at
creation; one `post.announce` job waits for its time and then tells the listeners, which
queue the webmentions and WebSub pings once, whatever happened to the post meanwhile.

Posts are made through the Micropub endpoint of the real app, over ASGI. Time is moved by
patching the clocks the visibility checks and the job queue read (`timestamps.instant`,
`job_queue.utcnow`); one test waits for a real `Worker` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from hearth import wiring
from hearth.server import scheduling
from hearth.server.core import job_queue, timestamps
from hearth.server.core.job_worker import Handler, JobContext, Worker
from hearth.server.core.models import Job, Post
from hearth.server.core.scheduled import ANNOUNCE_KIND, announcement_key
from hearth.server.core.settings import Settings
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import bearer, post_form, post_json, run_follow_ups, source

HUB = "https://hub.example.test/publish"
TARGET = "https://target.example/their-post"
WHEN = datetime(2030, 1, 1, tzinfo=UTC)
TEXT = "Words for the new year"
SENDS, PINGS = "webmention.send", "websub.publish"
# The jobs that tell others of the post (other features' follow-up, such as fetching a
# reply's context, is theirs to test).
TELLING = (ANNOUNCE_KIND, SENDS, PINGS)

Clock = Callable[[datetime], None]


@pytest.fixture(name="settings")
def hub_settings_fixture(settings: Settings) -> Settings:
    """The site with a WebSub hub, so that announcements queue pings."""
    return replace(settings, websub_hub=HUB)


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Set the time pages, listings and the job queue compare with."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timestamps, "instant", lambda: moment)
        monkeypatch.setattr(job_queue, "utcnow", lambda: moment)

    return set_to


async def micropub(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """POST a form to the endpoint with a token that may do everything."""
    return await post_form(client, urlencode(fields), await bearer())


async def replace_in(client: httpx.AsyncClient, url: str, **values: str) -> None:
    """A Micropub update (JSON, as updates are sent) replacing each property's value."""
    doc = {"action": "update", "url": url, "replace": {k: [v] for k, v in values.items()}}
    response = await post_json(client, doc, await bearer())
    assert 204 == response.status_code, response.text


async def schedule(client: httpx.AsyncClient, when: datetime = WHEN, **extra: str) -> str:
    """A reply sent by a Micropub client with a future `published`; its permalink."""
    fields = {
        "h": "entry",
        "content": TEXT,
        "in-reply-to": TARGET,
        "category": "soon",
        "published": when.isoformat().replace("+00:00", "Z"),
        **extra,
    }
    response = await micropub(client, **fields)
    assert 201 == response.status_code, response.text
    location: str = response.headers["location"]
    return location


async def post_at(url: str) -> Post:
    return await Post.get(path=url.removeprefix(BASE_URL))


async def kinds() -> dict[str, int]:
    """How many jobs of each kind that tells others of a post are queued (or done)."""
    counted: dict[str, int] = {}
    for job in await Job.filter(kind__in=TELLING):
        counted[job.kind] = counted.get(job.kind, 0) + 1
    return counted


async def run_due_announcements(settings: Settings) -> int:
    """What the worker does with the due `post.announce` jobs (and only those, so no other
    job reaches out to the network): claim, run the handler, complete. How many ran."""
    ran = 0
    while (job := await job_queue.claim("test", [ANNOUNCE_KIND], 60)) is not None:
        await scheduling.announce(JobContext(settings, None, job), job.payload)
        assert await job_queue.complete(job, "test")
        ran += 1
    return ran


def assert_hidden(page: httpx.Response) -> None:
    assert TEXT not in page.text, page.url


async def assert_hidden_everywhere(anonymous: httpx.AsyncClient, url: str) -> None:
    """Nothing of the post on any public page; its own addresses are the plain 404."""
    for path in ("/", "/tag/soon", "/tags", "/feed.atom", "/feed.rss", "/feed.json"):
        page = await anonymous.get(path)
        assert 200 == page.status_code, path
        assert_hidden(page)
    assert "soon" not in (await anonymous.get("/tags")).text
    missing = await anonymous.get("/2020/01/no-such-post")
    short = f"/s/{(await post_at(url)).short_code}"
    for address in (url, short):
        hidden = await anonymous.get(address)
        assert (404, missing.text) == (hidden.status_code, hidden.text), address


async def assert_shown(anonymous: httpx.AsyncClient, url: str) -> None:
    for path in (url, "/", "/tag/soon", "/feed.atom", "/feed.rss", "/feed.json"):
        page = await anonymous.get(path)
        assert (200, True) == (page.status_code, TEXT in page.text), path


# Hidden until its time ------------------------------------------------------------------


async def test_hidden_from_everyone_else_until_its_time(
    anonymous: httpx.AsyncClient, clock: Clock
) -> None:
    """Before its time an anonymous visitor finds the post nowhere; from its time (no job
    has run yet: showing it needs none) it is everywhere."""
    url = await schedule(anonymous)
    clock(WHEN - timedelta(seconds=1))
    await assert_hidden_everywhere(anonymous, url)
    clock(WHEN)
    await assert_shown(anonymous, url)


async def test_owner_sees_its_page_with_the_note(
    client: httpx.AsyncClient, signed_in: str, anonymous: httpx.AsyncClient
) -> None:
    """The owner sees the page (and is sent there by the short link) with "Scheduled for";
    it is listed nowhere, for the owner neither, and is 404 to everyone else meanwhile."""
    url = await schedule(client)
    page = await client.get(url)
    assert (200, True) == (page.status_code, TEXT in page.text)
    assert "Scheduled for 2030-01-01 00:00 UTC" in page.text
    assert "private" in page.headers["cache-control"]
    short = await client.get(f"/s/{(await post_at(url)).short_code}")
    assert (301, url) == (short.status_code, short.headers["location"])
    assert TEXT not in (await client.get("/")).text
    assert 404 == (await anonymous.get(url)).status_code


async def test_micropub_source_lists_it_only_to_readers(client: httpx.AsyncClient) -> None:
    """`q=source`: a token with `read` (or `update`) sees it, like a draft; a `create`
    token finds neither the post in the list nor anything at its URL."""
    url = await schedule(client)
    reader, writer = await bearer("read"), await bearer("create")
    listed = await client.get("/micropub", params={"q": "source"}, headers=reader)
    assert [[url]] == [item["properties"]["url"] for item in listed.json()["items"]]
    assert 200 == (await source(client, reader, url)).status_code
    unlisted = await client.get("/micropub", params={"q": "source"}, headers=writer)
    assert [] == unlisted.json()["items"]
    # Word for word what a URL with no post gets.
    by_url = await source(client, writer, url)
    error = {"error": "invalid_request", "error_description": f"there is no post at {url}"}
    assert (400, error) == (by_url.status_code, by_url.json())


# Announced at its time ------------------------------------------------------------------


async def test_announced_once_at_its_time(
    client: httpx.AsyncClient, settings: Settings, clock: Clock
) -> None:
    """Creating it queues no webmention and no ping, only one announce job for its time;
    the job, when due, queues the webmention to the reply's target and the pings, and
    running it again (a worker that died before recording it) queues nothing more."""
    url = await schedule(client)
    post = await post_at(url)
    assert {ANNOUNCE_KIND: 1} == await kinds()
    job = await Job.get(kind=ANNOUNCE_KIND)
    assert (WHEN, announcement_key(post.id, WHEN)) == (job.run_at, job.idempotency_key)

    clock(WHEN - timedelta(seconds=1))
    assert 0 == await run_due_announcements(settings)
    clock(WHEN + timedelta(seconds=1))
    assert 1 == await run_due_announcements(settings)
    announced = await kinds()
    assert {ANNOUNCE_KIND: 1, SENDS: 1, PINGS: 4} == announced
    send = await Job.get(kind=SENDS)
    assert {"post_id": post.id, "target": TARGET} == send.payload

    await scheduling.announce(JobContext(settings, None, job), job.payload)
    assert announced == await kinds()


async def test_edited_before_its_time(
    client: httpx.AsyncClient, settings: Settings, clock: Clock, anonymous: httpx.AsyncClient
) -> None:
    """Edits before its time announce nothing; moved a day later, the old time's job
    finds it still scheduled and announces nothing early; the new time's job does."""
    url = await schedule(client)
    later = WHEN + timedelta(days=1)
    await replace_in(client, url, content=TEXT + "!")
    await replace_in(client, url, published=later.isoformat())
    assert {ANNOUNCE_KIND: 2} == await kinds()

    clock(WHEN + timedelta(hours=1))
    assert 1 == await run_due_announcements(settings)
    assert {ANNOUNCE_KIND: 2} == await kinds()
    assert 404 == (await anonymous.get(url)).status_code

    clock(later)
    assert 1 == await run_due_announcements(settings)
    assert {ANNOUNCE_KIND: 2, SENDS: 1, PINGS: 4} == await kinds()
    assert 200 == (await anonymous.get(url)).status_code


async def test_moved_without_a_new_job(settings: Settings, client: httpx.AsyncClient) -> None:
    """Should the time move by a path that tells no one (a script on the database), the
    old job queues the job of the new time rather than announcing."""
    url = await schedule(client)
    post = await post_at(url)
    later = WHEN + timedelta(days=3)
    await Post.filter(id=post.id).update(published=later)
    job = await Job.get(kind=ANNOUNCE_KIND)
    await scheduling.announce(JobContext(settings, None, job), job.payload)
    follow_up = await Job.get(idempotency_key=announcement_key(post.id, later))
    assert (later, {ANNOUNCE_KIND: 2}) == (follow_up.run_at, await kinds())


@pytest.mark.parametrize("change", ["delete", "draft"], ids=["deleted", "made-draft"])
async def test_deleted_or_draft_before_its_time_is_never_announced(
    client: httpx.AsyncClient,
    settings: Settings,
    clock: Clock,
    anonymous: httpx.AsyncClient,
    change: str,
) -> None:
    """Deleted (or made a draft) before its time: no webmention or ping then, nor at its
    time, and its page is the plain 404 (it never had a public page to leave a 410)."""
    url = await schedule(client)
    if change == "delete":
        assert 204 == (await micropub(client, action="delete", url=url)).status_code
    else:
        await replace_in(client, url, **{"post-status": "draft"})
    assert {ANNOUNCE_KIND: 1} == await kinds()
    clock(WHEN + timedelta(seconds=1))
    assert 1 == await run_due_announcements(settings)
    assert {ANNOUNCE_KIND: 1} == await kinds()
    assert 404 == (await anonymous.get(url)).status_code
    assert_hidden(await anonymous.get("/"))


async def test_public_post_moved_into_the_future(
    client: httpx.AsyncClient, settings: Settings, clock: Clock
) -> None:
    """A public post moved to a future time leaves the feeds now (pings queued) and is
    announced again at its time (new pings: the first ones were for its leaving)."""
    url = await schedule(client, when=datetime(2026, 1, 1, tzinfo=UTC))
    assert 1 == await run_follow_ups(settings)  # public now: its listeners hear of it
    # Let each change's pings go out, so the next change may queue its own (a ping still
    # queued covers every later change: `hearth.server.websub`).
    await Job.filter(kind=PINGS).update(state="done")
    before = await kinds()
    await replace_in(client, url, published=WHEN.isoformat())
    left = await kinds()
    assert left[PINGS] > before[PINGS] and 1 == left[ANNOUNCE_KIND]
    await Job.filter(kind=PINGS).update(state="done")
    clock(WHEN + timedelta(seconds=1))
    assert 1 == await run_due_announcements(settings)
    assert (await kinds())[PINGS] == left[PINGS] + 4


async def test_announced_by_a_real_worker_within_seconds(
    client: httpx.AsyncClient, settings: Settings, anonymous: httpx.AsyncClient
) -> None:
    """A post two seconds ahead, a `Worker` running as `hearth serve` runs it (its handlers,
    with the hub's ping recorded instead of sent): the post shows at its time, and the
    worker announces it within two seconds of it."""
    when = datetime.fromtimestamp(math.ceil(time.time()) + 2, UTC)
    url = await schedule(client, when=when, **{"in-reply-to": ""})
    pinged: list[datetime] = []
    all_pinged = asyncio.Event()

    async def record_ping(ctx: JobContext, payload: dict[str, Any]) -> None:
        pinged.append(datetime.now(UTC))
        if len(pinged) == 4:  # the home page and three feeds
            all_pinged.set()

    handlers: dict[str, Handler] = {**wiring.job_handlers(), PINGS: record_ping}
    stop = asyncio.Event()
    worker = asyncio.create_task(Worker(settings, handlers).run(stop))
    try:
        assert 404 == (await anonymous.get(url)).status_code
        assert [] == pinged
        wait = (when - datetime.now(UTC)).total_seconds() + 5
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_pinged.wait(), wait)
        shown = await anonymous.get(url)
    finally:
        stop.set()
        await worker
    assert 4 == len(pinged)
    assert when <= min(pinged) and max(pinged) - when < timedelta(seconds=2)
    assert 200 == shown.status_code
    announce = await Job.get(kind=ANNOUNCE_KIND)
    assert (announce.state, announce.attempts) == ("done", 1)


# Caches ---------------------------------------------------------------------------------


async def test_conditional_get_right_after_its_time_is_not_stale(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, clock: Clock
) -> None:
    """A reader who fetched the home page and feeds before the post's time and asks again
    with If-Modified-Since right after it gets the page with the post, not a 304, though no
    stored row changed (the announce job has not run yet)."""
    await micropub(client, h="entry", content="An older post")
    await schedule(client)
    await asyncio.sleep(1.1)  # Last-Modified has whole seconds: the newer post one later.
    await micropub(client, h="entry", content="Written after the scheduled one")
    clock(WHEN - timedelta(minutes=1))
    for path in ("/", "/feed.atom", "/feed.rss", "/feed.json", "/tag/soon"):
        first = await anonymous.get(path)
        assert_hidden(first)
        since = first.headers.get("last-modified")
        if since is None:  # the tag page is empty before: nothing to validate
            continue
        again = await anonymous.get(path, headers={"If-Modified-Since": since})
        assert 304 == again.status_code, path
        clock(WHEN)
        fresh = await anonymous.get(path, headers={"If-Modified-Since": since})
        assert (200, True) == (fresh.status_code, TEXT in fresh.text), path
        clock(WHEN - timedelta(minutes=1))
