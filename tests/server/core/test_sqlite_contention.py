"""SQLite shared by `hearth serve` and `hearth worker` processes: no "database is locked".

Issue #13: concurrent writers on the default store each wait for the write lock instead of
failing. `bench/sqlite_contention.py` is the long version of the served test below
(15 s, creates and webmentions, every status counted).
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
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
from tests.serving import (
    ROOT,
    hearth_cli,
    hearth_serve,
    loopback_base,
    loopback_socket,
    serve_in_thread,
)


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
    base: str, token: str, target: str, source: str, seconds: float, clients: int
) -> Counter[str]:
    """`clients` clients creating posts and as many sending webmentions, for `seconds`."""
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

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
            while time.monotonic() < deadline:
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


def test_serve_and_two_workers_under_concurrent_writes(tmp_path: Path) -> None:
    """`hearth serve` and two `hearth worker` on one SQLite file; for 3 s, 8 clients create
    posts and 8 send webmentions from a local site (each one a row and a verification job
    the workers run, fetch and write back): every request is 201, and no process logs
    "database is locked" or a traceback. Before `BEGIN IMMEDIATE` and the busy timeout, 92 of
    225 requests here failed (500 "database is locked", or the connection dropped after it)."""
    lifted = {
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "1",
        # This is about the database, not the webmention endpoint's rate limits.
        "HEARTH_WEBMENTION_PER_HOST_PER_MINUTE": "1000000",
        "HEARTH_WEBMENTION_PER_MINUTE": "1000000",
        "HEARTH_WEBMENTION_MAX_QUEUED": "1000000",
        "HEARTH_WEBMENTION_FETCH_INTERVAL": "0",
    }
    target: list[str] = []
    sock = loopback_socket()
    with (
        serve_in_thread(_reply_source(target), [sock]),
        hearth_serve(tmp_path, env=lifted) as served,
    ):
        token = hearth_cli(served.env, "token", "create").strip().splitlines()[-1]
        first = httpx.post(
            served.base + "micropub",
            data={"h": "entry", "content": "The post every webmention replies to"},
            headers={"Authorization": f"Bearer {token}"},
        )
        target.append(first.headers["location"])
        logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
        workers = []
        for log in logs:
            with log.open("wb") as out:
                workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "hearth.cli", "worker"],
                        env=served.env,
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        try:
            statuses = asyncio.run(
                _load(served.base, token, target[0], loopback_base(sock), seconds=3, clients=8)
            )
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
        text = served.output() + "".join(log.read_text() for log in logs)
        assert set(statuses) == {"create 201", "mention 201"}, statuses
        assert statuses["create 201"] > 20
        assert statuses["mention 201"] > 20
        assert text.count("database is locked") == 0
        assert "Traceback" not in text
        assert all(worker.returncode in (0, -15) for worker in workers)
    # Leaving `hearth_serve` checked that the server stopped cleanly, without a traceback.
