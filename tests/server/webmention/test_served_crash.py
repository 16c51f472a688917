"""`kill -9` of `hearth serve` in the middle of a webmention verification, with the default
job lease (300 s): the restarted server takes the job back within seconds and verifies the
response once; a living slow worker's job is never taken from it.

Real processes on loopback: `hearth serve` (and a `hearth worker`) on the default SQLite
store, and the webmention's source, a Starlette app in a thread that holds its first answer
until the test lets it go, so the verification is certainly in progress when the server dies.
The ownership rule itself is tested in tests/server/core/test_job_owner.py.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mf2py
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.serving import (
    ROOT,
    Served,
    hearth_cli,
    hearth_serve,
    loopback_base,
    loopback_socket,
    serve_in_thread,
)
from tests.stores import served_rows

# The default lease: the point is that nobody waits for it.
LEASE_SECONDS = 300
# From the kill to the verified response: a restart, one poll, one fetch.
TAKE_BACK_LIMIT = 20.0

# `hearth serve` opens the database itself: the PostgreSQL pass runs these too.
pytestmark = [pytest.mark.skipif(sys.platform != "linux", reason="reads /proc"), pytest.mark.store]


class HeldSource:
    """A reply page whose first GET waits until `release()`; counts every GET."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.url = base + "reply"
        self.target = ""
        self.requests = 0
        self.arrived = threading.Event()
        self._release = threading.Event()

    def release(self) -> None:
        self._release.set()

    async def page(self, request: Request) -> Response:
        self.requests += 1
        if self.requests == 1:
            self.arrived.set()
            await asyncio.to_thread(self._release.wait, 60)
        return HTMLResponse(
            '<!doctype html><html><body><div class="h-entry">'
            '<a class="p-author h-card" href="https://example.com/">A friend</a>'
            f'<a class="u-in-reply-to" href="{self.target}">{self.target}</a>'
            '<div class="e-content">Held up, then let through.</div>'
            "</div></body></html>"
        )


@pytest.fixture(name="source")
def source_fixture() -> Iterator[HeldSource]:
    sock = loopback_socket()
    source = HeldSource(loopback_base(sock))
    app = Starlette(routes=[Route("/reply", source.page)])
    with serve_in_thread(app, [sock]):
        yield source
        source.release()


@pytest.fixture(name="served")
def served_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """`hearth serve` with its worker and the default job lease, demo posts, and leave to
    fetch from loopback."""
    monkeypatch.delenv("HEARTH_JOB_LEASE_SECONDS", raising=False)
    env = {"HEARTH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8", "HEARTH_MODERATION": "all"}
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with hearth_serve(data_dir, env=env) as served:
        hearth_cli(served.env, "demo")
        yield served


def first_post(base: str) -> str:
    home = mf2py.parse(doc=httpx.get(base).text, url=base)
    feed = next(item for item in home["items"] if "h-feed" in item["type"])
    url: str = feed["children"][0]["properties"]["url"][0]
    return url


def send(served: Served, source: HeldSource) -> str:
    """Send the webmention; its status page's URL."""
    source.target = first_post(served.base)
    answer = httpx.post(
        served.base + "webmention", data={"source": source.url, "target": source.target}
    )
    assert 201 == answer.status_code, answer.text
    assert source.arrived.wait(20), "the verification never fetched the source"
    return answer.headers["location"]


def settled(location: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        data: dict[str, Any] = httpx.get(location, headers={"Accept": "application/json"}).json()
        if data["status"] != "pending" or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


VERIFY = "webmention.verify"


def verify_jobs(served: Served) -> list[tuple[str, int]]:
    """(state, attempts) of every webmention verification job in the served database."""
    rows = served_rows(served.env, "SELECT state, attempts FROM jobs WHERE kind = ?", VERIFY)
    return [(str(state), int(str(attempts))) for state, attempts in rows]


def test_kill_during_verification_then_restart_verifies_once_within_seconds(
    served: Served, source: HeldSource
) -> None:
    """The killed server's job is taken back by the restarted one long before the lease."""
    location = send(served, source)
    served.kill()
    killed = time.monotonic()
    source.release()  # the dead server's request ends; nobody reads the answer
    served.restart()
    data = settled(location, TAKE_BACK_LIMIT)
    took = time.monotonic() - killed
    assert "accepted" == data["status"], data
    assert took < TAKE_BACK_LIMIT < LEASE_SECONDS
    # Once: the killed attempt and the one that took it back, and no other.
    assert 2 == source.requests
    assert [("done", 2)] == verify_jobs(served)
    assert "is gone; taken back" in served.output()
    page = httpx.get(source.target).text
    assert 1 == page.count("Held up, then let through.")


def test_living_slow_worker_is_not_doubled(served: Served, source: HeldSource) -> None:
    """A `hearth worker` started while `hearth serve` is stuck in a verification polls for
    several seconds and leaves that job alone: its holder is alive."""
    location = send(served, source)
    log = Path(served.env["HEARTH_DATA_DIR"]) / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "hearth.cli", "worker"],
            env=served.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while b"started" not in log.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(4)  # four polls, each looking for jobs of dead workers
        assert 1 == source.requests
        assert [("running", 1)] == verify_jobs(served)
        source.release()
        assert "accepted" == settled(location, 20)["status"]
        assert 1 == source.requests
        assert [("done", 1)] == verify_jobs(served)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert 0 == worker.wait(timeout=30), log.read_text()
    assert "taken back" not in log.read_text() + served.output()
