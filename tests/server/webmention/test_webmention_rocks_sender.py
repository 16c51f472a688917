"""Hearth's webmention sender against a local webmention.rocks, end to end over real HTTP.

`fake_rocks` serves the webmention.rocks sender tests on 127.0.0.1; a real `hearth serve
--no-worker` subprocess serves Hearth's posts, which the fake fetches to verify each
webmention (strict `<a href>` equality, 410 after a delete). Posts are made, edited and
deleted through Micropub (POST /micropub with a bearer token), which calls `post_changed`.
This process runs the job queue with `Worker.run_once` against the same SQLite file, so each
step's webmentions have all been sent when the test looks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.server.core import db
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import OutgoingWebmention, Post
from hearth.server.core.settings import Settings
from hearth.server.core.tokens import mint_token
from hearth.wiring import job_handlers
from tests.server.webmention.fake_rocks import DISCOVERY, Answer, FakeRocks, serve_rocks
from tests.serving import Served, hearth_serve

REPO = Path(__file__).resolve().parents[3]
GOT_IT = "Got it! Your response should be visible on the website now!"
CONGRATS = "Congrats, you've passed the test!"


@pytest.fixture(name="rocks", scope="module")
def rocks_fixture() -> Iterator[FakeRocks]:
    with serve_rocks() as rocks:
        yield rocks


@pytest.fixture(name="hearth", scope="module")
def hearth_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`hearth serve --no-worker` on a free port, allowed to reach loopback sites."""
    data_dir = tmp_path_factory.mktemp("hearth-rocks")
    env = {"HEARTH_ALLOW_PRIVATE_NETWORKS": "1", "HEARTH_NAME": "Rocks Tester"}
    with hearth_serve(data_dir, env=env, args=["--no-worker"]) as served:
        yield served


class Site:
    """Hearth as a webmention.rocks tester sees it: publish, edit, delete, then send."""

    def __init__(self, base: str, worker: Worker, token: str) -> None:
        self.base, self.worker, self.token = base, worker, token

    async def micropub(self, body: dict[str, Any], expected: tuple[int, ...]) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            headers = {"Authorization": f"Bearer {self.token}"}
            response = await client.post(self.base + "micropub", json=body, headers=headers)
        assert response.status_code in expected, response.text
        return response

    async def publish(self, properties: dict[str, list[Any]]) -> str:
        """Micropub create of an h-entry; returns its permalink."""
        body = {"type": ["h-entry"], "properties": properties}
        return (await self.micropub(body, (201,))).headers["location"]

    async def replace(self, url: str, properties: dict[str, list[Any]]) -> None:
        """Micropub update with `replace`."""
        body = {"action": "update", "url": url, "replace": properties}
        await self.micropub(body, (200, 201, 204))

    async def delete(self, url: str) -> None:
        """Micropub delete."""
        await self.micropub({"action": "delete", "url": url}, (200, 204))

    async def send(self) -> None:
        """Run every due job (the webmentions of the last change) to completion."""
        for _ in range(100):
            if not await self.worker.run_once():
                return
        pytest.fail("the job queue did not drain")

    async def outgoing(self, url: str) -> dict[str, tuple[str, int | None, str | None]]:
        """target -> (state, status code, endpoint) of the post's sent webmentions."""
        post = await Post.get(path=url.removeprefix(self.base))
        rows = await OutgoingWebmention.filter(post=post)
        return {row.target: (row.state, row.status_code, row.endpoint) for row in rows}


@pytest.fixture(name="site")
async def site_fixture(hearth: Served) -> AsyncIterator[Site]:
    """This process's view of the served site: its database and a worker."""
    settings = Settings.from_env(hearth.env)
    async with db.connect(settings, run_migrations=False), create_http_client(settings) as http:
        token, _ = await mint_token(me=settings.url, scope="create update delete undelete")
        worker = Worker(settings, job_handlers(), http=http, worker_id="rocks-test")
        yield Site(hearth.base, worker, token)


def link(url: str) -> dict[str, list[Any]]:
    """HTML content linking `url`, written the way strict receivers need it."""
    return {"content": [{"html": f'<p>Testing <a href="{url}">{url}</a>.</p>'}]}


def new_requests(rocks: FakeRocks, since: int, num: int) -> list[tuple[str, str]]:
    """Requests for test `num`'s URLs received since `rocks.hits[since]`."""
    return [
        (method, path)
        for method, path in rocks.hits[since:]
        if path == f"/test/{num}" or path.startswith(f"/test/{num}/")
    ]


def summary(answers: list[Answer]) -> list[tuple[str, int, str]]:
    return [(answer.path, answer.status, answer.text) for answer in answers]


@pytest.mark.parametrize("num", sorted(DISCOVERY))
async def test_discovery(num: int, site: Site, rocks: FakeRocks) -> None:
    """webmention.rocks discovery tests 1-23: one reply, one POST, to the correct endpoint."""
    case = DISCOVERY[num]
    target = rocks.base + (case.target or f"test/{num}")
    start = len(rocks.hits)
    url = await site.publish({"in-reply-to": [target], "content": [f"Discovery test {num}"]})
    await site.send()
    answers = rocks.answers_from(url)
    assert [(GOT_IT, 200)] == [(a.text, a.status) for a in answers], summary(answers)
    [answer] = answers
    sent_to = answer.path + (f"?{answer.query}" if answer.query else "")
    endpoint = rocks.base + case.endpoint.replace("{k2}", sent_to.rsplit("/", 1)[1])
    assert endpoint == rocks.base + sent_to.lstrip("/")
    assert [("source", url), ("target", target)] == answer.form
    assert answer.content_type.startswith("application/x-www-form-urlencoded")
    assert (num, url) in rocks.responses
    requests = new_requests(rocks, start, num)
    assert [("POST", sent_to)] == [hit for hit in requests if hit[0] != "GET"]
    assert [] == [hit for hit in rocks.hits[start:] if hit[0] == "HEAD"]
    assert {target: ("sent", 200, endpoint)} == await site.outgoing(url)


async def test_discovery_23_requests_each_single_use_url_once(site: Site, rocks: FakeRocks) -> None:
    """Test 23: the redirect, the one-time page and the one-time endpoint each get one request."""
    start = len(rocks.hits)
    url = await site.publish(link(rocks.base + "test/23/page"))
    await site.send()
    hits = new_requests(rocks, start, 23)
    assert 3 == len(hits), hits
    page, endpoint = hits[1][1], hits[2][1]
    assert [("GET", "/test/23/page"), ("GET", page), ("POST", endpoint)] == hits
    assert page.startswith("/test/23/page/")
    assert endpoint.startswith("/test/23/page/webmention-endpoint/")
    assert [GOT_IT] == [answer.text for answer in rocks.answers_from(url)]


async def test_update_1_adding_a_link(site: Site, rocks: FakeRocks) -> None:
    """Update 1: after adding a link, both the new and the old target are told: Congrats."""
    first, second = rocks.base + "update/1", rocks.base + "update/1/part/2"
    url = await site.publish(link(first))
    await site.send()
    assert ["Got it! You've completed step one."] == [a.text for a in rocks.answers_from(url)]
    html = f'<p><a href="{first}">one</a> and now <a href="{second}">two</a>.</p>'
    await site.replace(url, {"content": [{"html": html}]})
    await site.send()
    answers = rocks.answers_from(url)[1:]
    paths = {"/update/1/part/1/webmention", "/update/1/part/2/webmention"}
    assert (paths, 200) == ({a.path for a in answers}, max(a.status for a in answers))
    assert CONGRATS == answers[-1].text, summary(answers)
    assert ("update", 1, url) in rocks.passed


async def test_update_2_removing_a_link(site: Site, rocks: FakeRocks) -> None:
    """Update 2: after removing a link, the removed target is told too: Congrats."""
    first, second = rocks.base + "update/2", rocks.base + "update/2/part/2"
    html = f'<p><a href="{first}">one</a> and <a href="{second}">two</a>.</p>'
    url = await site.publish({"content": [{"html": html}]})
    await site.send()
    texts = [a.text for a in rocks.answers_from(url)]
    assert 2 * ["Got it! You've completed this part of step one."] == texts
    await site.replace(url, link(first))
    await site.send()
    answers = rocks.answers_from(url)[2:]
    assert [200, 200] == [a.status for a in answers], summary(answers)
    assert CONGRATS == answers[-1].text, summary(answers)
    assert ("update", 2, url) in rocks.passed


async def test_delete_1(site: Site, rocks: FakeRocks) -> None:
    """Delete 1: the deleted post answers 410 without the link, and the target is told."""
    target = rocks.base + "delete/1"
    url = await site.publish(link(target))
    await site.send()
    assert ["Got it! You've completed step one."] == [a.text for a in rocks.answers_from(url)]
    await site.delete(url)
    async with httpx.AsyncClient() as client:
        assert 410 == (await client.get(url)).status_code
    await site.send()
    answers = rocks.answers_from(url)[1:]
    assert [(200, CONGRATS)] == [(a.status, a.text) for a in answers], summary(answers)
    assert ("delete", 1, url) in rocks.passed
    assert "sent" == (await site.outgoing(url))[target][0]
