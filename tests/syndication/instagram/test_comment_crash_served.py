"""`kill -9` of `hearth serve` while it posts an Instagram first comment, with the default
job lease (300 s): the restarted server takes the comment over within seconds and there is
exactly one comment on Instagram; a living worker that is merely slow is never doubled.

Real processes on loopback: `hearth serve` (and a `hearth worker`) on the default SQLite
store, and the fake Instagram served through `HeldComments`, which holds the first comment
POST until the test lets it go, so the post is certainly under way when the server dies. It
is held either before Instagram sees it (the comment never lands: the restarted server must
post it) or after Instagram made the comment, before its answer (the comment is there but its
id never reached the server: the restarted server must adopt it, not post again). The claim
rule itself is tested in test_comment_holder.py.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hearth.syndication.instagram.fake import FakeInstagram
from tests.serving import ROOT, loopback_base, loopback_socket, serve_in_thread
from tests.stores import served_rows
from tests.syndication.instagram.served_instagram import (
    Site,
    connected_site,
    owner_comments,
    wait_for,
    wait_for_polls,
)

# The default lease: the point is that nobody waits for it.
LEASE_SECONDS = "300"
# From the kill to the stored comment: a restart, the 20 s a sent POST is given to settle
# (twice the 10 s HTTP timeout), one more run of the job.
TAKE_OVER_LIMIT = 45.0

# `hearth serve` opens the database itself: the PostgreSQL pass runs these too.
pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="reads /proc"), pytest.mark.store]


class HeldComments:
    """The fake's ASGI app with its first comment POST held until `release()`.

    `held` is "request" (Instagram never sees it: answered 503 once released, to a poster
    that is gone by then) or "answer" (Instagram makes the comment at once; the answer waits).
    Later comment POSTs pass straight through. `posts` counts every comment POST.
    """

    def __init__(self, fake: FakeInstagram, held: str) -> None:
        self.app = fake.app()
        self.held = held
        self.posts = 0
        self.arrived = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        is_post = scope["type"] == "http" and scope["method"] == "POST"
        if not (is_post and scope["path"].endswith("/comments")):
            await self.app(scope, receive, send)
            return
        self.posts += 1
        if self.posts > 1:
            await self.app(scope, receive, send)
        elif self.held == "request":
            await self._wait()
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            await self.app(scope, receive, self._held_send(send))

    async def _wait(self) -> None:
        self.arrived.set()
        await asyncio.to_thread(self._released.wait, 120)

    def _held_send(self, send: Any) -> Any:
        async def held_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                await self._wait()
            await send(message)

        return held_send


@contextmanager
def held_instagram(held: str) -> Iterator[tuple[FakeInstagram, HeldComments]]:
    """A fake Instagram on 127.0.0.1 whose first comment POST is held as `held` says."""
    sock = loopback_socket()
    fake = FakeInstagram(loopback_base(sock))
    gate = HeldComments(fake, held)
    with serve_in_thread(gate, [sock]):
        try:
            yield fake, gate
        finally:
            gate.release()


def stored_comment(site: Site, media_id: str) -> str | None:
    """The first comment's id the served database holds for `media_id` (None: no id yet)."""
    rows = served_rows(
        site.served.env, "SELECT comment_id FROM instagram_media WHERE media_id = ?", media_id
    )
    value = rows[0][0] if rows else None
    return None if value is None or str(value).startswith("posting:") else str(value)


@pytest.mark.parametrize("held", ["request", "answer"])
def test_kill_while_posting_the_first_comment_then_restart_comments_once(
    tmp_path: Path, migrated_sqlite: Path, held: str
) -> None:
    """The killed server's claim is taken over by the restarted one long before the lease:
    the comment is posted (the request never reached Instagram) or adopted (it did), once."""
    with (
        held_instagram(held) as (fake, gate),
        connected_site(
            tmp_path / "data", fake, migrated_sqlite, HEARTH_JOB_LEASE_SECONDS=LEASE_SECONDS
        ) as site,
    ):
        media_id = fake.add_media("IMAGE", caption="Cut short")
        assert gate.arrived.wait(45), "the first comment was never posted"
        site.served.kill()
        killed = time.monotonic()
        gate.release()  # the dead server's request ends; nobody reads the answer
        site.served.restart()
        comment_id = wait_for(lambda: stored_comment(site, media_id), "the stored comment", 90)
        took = time.monotonic() - killed
        assert took < TAKE_OVER_LIMIT < float(LEASE_SECONDS), f"{took:.0f} s"
        assert [comment_id] == [c.id for c in owner_comments(fake, media_id)]
        assert "comment claim's holder" in site.served.output()
        # It has moved on (polls again), and still: one comment, posted at most twice.
        wait_for_polls(fake)
        assert 1 == len(owner_comments(fake, media_id))
        assert (2 if held == "request" else 1) == gate.posts


def test_living_slow_poster_is_not_doubled(tmp_path: Path, migrated_sqlite: Path) -> None:
    """A `hearth worker` started while `hearth serve` waits for Instagram's answer to its
    comment POST runs for several seconds and leaves the comment alone: its holder is
    alive. Once the answer comes, that comment is stored: one comment, one POST."""
    with (
        held_instagram("answer") as (fake, gate),
        connected_site(
            tmp_path / "data", fake, migrated_sqlite, HEARTH_JOB_LEASE_SECONDS=LEASE_SECONDS
        ) as site,
    ):
        media_id = fake.add_media("IMAGE", caption="Slow going")
        assert gate.arrived.wait(45), "the first comment was never posted"
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "hearth.cli", "worker"],
                env=site.served.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_for(lambda: b"started" in log.read_bytes(), "the worker to start")
            wait_for_polls(fake, n=4)  # seconds of polling beside the held post
            assert 1 == gate.posts
            assert stored_comment(site, media_id) is None
            gate.release()
            comment_id = wait_for(lambda: stored_comment(site, media_id), "the stored comment")
            wait_for_polls(fake)
            assert [comment_id] == [c.id for c in owner_comments(fake, media_id)]
            assert 1 == gate.posts
        finally:
            worker.send_signal(signal.SIGTERM)
            assert 0 == worker.wait(timeout=30), log.read_text()
        output = log.read_text() + site.served.output()
        assert "taken over" not in output
        assert "taken back" not in output
