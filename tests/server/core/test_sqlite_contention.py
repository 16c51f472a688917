"""SQLite shared by `hearth serve`, `hearth worker` processes and `hearth instagram poll`:
no "database is locked".

Issue #13: concurrent writers on the default store each wait for the write lock instead of
failing. `bench/sqlite_contention.py` is the long version of the served test below
(15 s, creates, webmentions and Instagram polls, every status counted).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from tortoise import connections
from tortoise.transactions import in_transaction

from hearth.server.core import db
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.fake import FakeInstagram, serve_instagram
from tests.serving import (
    ROOT,
    hearth_cli,
    hearth_serve,
    loopback_base,
    loopback_socket,
    serve_in_thread,
)

# What `hearth instagram poll` prints after a poll.
POLLED = re.compile(r"Copied (\d+) posts from Instagram \((\d+) updated, (\d+) failed\)")
# Rounds of "two new media on Instagram, then `hearth instagram poll`" during the load.
POLL_ROUNDS = 2

# SQLite's locking, PRAGMAs and file: the PostgreSQL pass has nothing to repeat here.
pytestmark = pytest.mark.one_store


async def test_every_connection_waits_for_the_lock(settings: Settings) -> None:
    """WAL, synchronous=NORMAL and a busy timeout on the connection Tortoise opens."""
    async with db.connect(settings):
        conn = connections.get("default")
        pragmas = {
            name: (await conn.execute_query_dict(f"PRAGMA {name}"))[0]
            for name in ("journal_mode", "synchronous", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": {"journal_mode": "wal"},
        "synchronous": {"synchronous": 1},  # NORMAL
        "busy_timeout": {"timeout": db.SQLITE_BUSY_TIMEOUT_MS},
    }


async def test_transactions_take_the_write_lock_first(settings: Settings) -> None:
    """`BEGIN IMMEDIATE`: a transaction that has only read holds the write lock already, so
    it never has to upgrade a read snapshot (which fails at once if another process wrote)."""
    async with db.connect(settings):
        async with in_transaction():
            await Post.all().count()  # only a read so far
            other = sqlite3.connect(settings.data_dir / "hearth.sqlite3", timeout=0)
            try:
                with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
        # Committed: the lock is free again.
        other = sqlite3.connect(settings.data_dir / "hearth.sqlite3", timeout=0)
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        other.close()


def _reply_source(target: list[str]) -> Starlette:
    """A site whose every page `/r/N` is an h-entry replying to `target[0]`."""

    async def reply(request: Request) -> HTMLResponse:
        return HTMLResponse(
            '<article class="h-entry"><a class="p-author h-card" href="/">Loader</a>'
            f'<a class="u-in-reply-to" href="{target[0]}">re</a>'
            f'<p class="e-content">Reply {request.path_params["n"]}</p></article>'
        )

    return Starlette(routes=[Route("/r/{n}", reply)])


async def _load(
    base: str,
    token: str,
    target: str,
    source: str,
    seconds: float,
    clients: int,
    until: threading.Event,
) -> Counter[str]:
    """`clients` clients creating posts and as many sending webmentions, for `seconds` and
    then until `until` is set."""
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    def going() -> bool:
        return time.monotonic() < deadline or not until.is_set()

    async def create(client: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
        return await client.post(
            "micropub",
            data={"h": "entry", "content": f"note {n}-{i}", "category": "load"},
            headers={"Authorization": f"Bearer {token}"},
        )

    async def mention(client: httpx.AsyncClient, n: int, i: int) -> httpx.Response:
        return await client.post(
            "webmention", data={"source": f"{source}r/{n}-{i}", "target": target}
        )

    async def one_client(n: int, send: Callable[..., Awaitable[httpx.Response]]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            i = 0
            while going():
                i += 1
                try:
                    response = await send(client, n, i)
                except httpx.TransportError as exc:  # uvicorn closes after an unhandled error
                    statuses[f"{send.__name__} {type(exc).__name__}"] += 1
                else:
                    statuses[f"{send.__name__} {response.status_code}"] += 1

    await asyncio.gather(
        *(one_client(n, create) for n in range(clients)),
        *(one_client(n, mention) for n in range(clients)),
    )
    return statuses


@dataclass
class PollRun:
    """One `hearth instagram poll`: its exit status, what it printed, and its counts."""

    returncode: int
    output: str
    copied: int = 0
    failed: int = 0


def _poll(env: Mapping[str, str]) -> PollRun:
    done = subprocess.run(
        [sys.executable, "-m", "hearth.cli", "instagram", "poll"],
        env=dict(env), cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    run = PollRun(done.returncode, done.stdout + done.stderr)
    if found := POLLED.search(done.stdout):
        run.copied, run.failed = int(found[1]), int(found[3])
    return run


def _poll_rounds(env: Mapping[str, str], fake: FakeInstagram, runs: list[PollRun]) -> None:
    """Each round: a photo and a two-photo carousel appear on Instagram, then the poll command
    copies them home (files into the media store, a post each) while the load runs."""
    for round_ in range(POLL_ROUNDS):
        fake.add_media("IMAGE", caption=f"Round {round_} photo")
        fake.add_media("CAROUSEL_ALBUM", caption=f"Round {round_} album", children=("IMAGE",) * 2)
        runs.append(_poll(env))


def _jobs_done(env: Mapping[str, str], kind: str) -> int:
    path = Path(env["HEARTH_DATA_DIR"]) / "hearth.sqlite3"
    with sqlite3.connect(path, timeout=30) as db:
        query = "SELECT COUNT(*) FROM jobs WHERE kind = ? AND state = 'done'"
        return int(db.execute(query, (kind,)).fetchone()[0])


def _connect_instagram(env: Mapping[str, str], fake: FakeInstagram) -> None:
    """`hearth instagram connect`, then wait for the poll it queues (run by the served
    processes) to finish: the next waits for midnight UTC, so from here on what is copied is
    copied by `hearth instagram poll`."""
    hearth_cli(env, "instagram", "connect", "--access-token", fake.token)
    deadline = time.monotonic() + 60
    while not _jobs_done(env, "instagram.poll") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _jobs_done(env, "instagram.poll"), "the poll queued on connect never ran"


def _start_workers(env: Mapping[str, str], logs: list[Path]) -> list[subprocess.Popen[bytes]]:
    """A `hearth worker` logging to each of `logs`, once each says it has started."""
    workers = []
    for log in logs:
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "hearth.cli", "worker"],
                env=dict(env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        workers.append(worker)
    deadline = time.monotonic() + 60
    while not all(b"started" in log.read_bytes() for log in logs):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.2)
    return workers


def _contention_env(fake: FakeInstagram) -> dict[str, str]:
    """Limits lifted (this is about the database), loopback reachable, the fake as Instagram."""
    return {
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "1",
        # This is about the database, not the webmention endpoint's rate limits.
        "HEARTH_WEBMENTION_PER_HOST_PER_MINUTE": "1000000",
        "HEARTH_WEBMENTION_PER_MINUTE": "1000000",
        "HEARTH_WEBMENTION_MAX_QUEUED": "1000000",
        "HEARTH_WEBMENTION_FETCH_INTERVAL": "0",
        "HEARTH_INSTAGRAM_API_URL": fake.base.rstrip("/"),
        "HEARTH_INSTAGRAM_APP_ID": fake.app_id,
        "HEARTH_INSTAGRAM_APP_SECRET": fake.app_secret,
        # The served processes poll once, on connect; their next poll (at the next whole day,
        # UTC) is out of the way, so what is copied meanwhile is the poll command's doing.
        "HEARTH_INSTAGRAM_POLL_SECONDS": "86400",
    }


def _copied_posts(env: Mapping[str, str]) -> int:
    """Posts made of Instagram media, as the served database holds them."""
    path = Path(env["HEARTH_DATA_DIR"]) / "hearth.sqlite3"
    with sqlite3.connect(path, timeout=30) as db:
        query = "SELECT COUNT(*) FROM instagram_media WHERE copy_state = 'copied'"
        return int(db.execute(query).fetchone()[0])


def test_serve_two_workers_and_instagram_poll_under_concurrent_writes(tmp_path: Path) -> None:
    """`hearth serve`, two `hearth worker` and `hearth instagram poll` on one SQLite file; for
    at least 3 s, and until the poll command has run twice, 8 clients create posts and 8 send
    webmentions from a local site (each one a row and a verification job the workers run,
    fetch and write back), while the poll command copies media from the fake Instagram home
    (and the workers post their first comments): every request is 201, every poll copies
    what appeared, and no process logs "database is locked" or a traceback. Before `BEGIN
    IMMEDIATE` and the busy timeout, 92 of 225 requests here failed (500 "database is
    locked", or the connection dropped after it)."""
    target: list[str] = []
    sock = loopback_socket()
    with (
        serve_in_thread(_reply_source(target), [sock]),
        serve_instagram() as fake,
        hearth_serve(tmp_path, env=_contention_env(fake)) as served,
    ):
        token = hearth_cli(served.env, "token", "create").strip().splitlines()[-1]
        first = httpx.post(
            served.base + "micropub",
            data={"h": "entry", "content": "The post every webmention replies to"},
            headers={"Authorization": f"Bearer {token}"},
        )
        target.append(first.headers["location"])
        logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
        workers = _start_workers(served.env, logs)
        # Connected only once the workers run: a worker starting later would queue a poll
        # of its own (`ensure_polling`), and copy what the poll command is to copy.
        _connect_instagram(served.env, fake)
        runs: list[PollRun] = []
        polled = threading.Event()

        def poll_during_the_load() -> None:
            try:
                _poll_rounds(served.env, fake, runs)
            finally:
                polled.set()

        poller = threading.Thread(target=poll_during_the_load)
        poller.start()
        load = _load(
            served.base, token, target[0], loopback_base(sock), seconds=3, clients=8, until=polled
        )
        try:
            statuses = asyncio.run(load)
        finally:
            poller.join(timeout=300)
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        text = served.output() + "".join(log.read_text() for log in logs)
        text += "".join(run.output for run in runs)
        assert set(statuses) == {"create 201", "mention 201"}, statuses
        assert statuses["create 201"] > 20
        assert statuses["mention 201"] > 20
        assert [(0, 2, 0)] * POLL_ROUNDS == [(r.returncode, r.copied, r.failed) for r in runs], text
        assert 2 * POLL_ROUNDS == _copied_posts(served.env)
        assert text.count("database is locked") == 0
        assert "Traceback" not in text
        assert all(worker.returncode in (0, -15) for worker in workers)
    # Leaving `hearth_serve` checked that the server stopped cleanly, without a traceback.
