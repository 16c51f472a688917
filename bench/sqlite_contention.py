"""Benchmark: `hearth serve`, two `hearth worker` and `hearth instagram poll` on one SQLite file.

Run: `python bench/sqlite_contention.py [--seconds 15] [--connections 16] [--workers 2]`

Issue #13 ("Crashes and restarts"): `hearth serve`, several `hearth worker` processes and
`hearth instagram poll` share the default SQLite store without a single "database is
locked" error or 5xx. This runs the real commands, each in its own process, on one fresh
data dir in a temp directory:

- `hearth migrate`, then `hearth token create` for a Micropub token;
- a fake source site on 127.0.0.1 (uvicorn in a thread) whose every page `/r/N` is an
  h-entry reply to the target post, so each webmention's verification job fetches, parses
  and stores a response (`HEARTH_ALLOW_PRIVATE_NETWORKS=1` lets the guard reach loopback);
- the fake Instagram (`hearth.syndication.instagram.fake`) on 127.0.0.1 as the Graph API;
- `hearth serve` (with its in-process worker) and `--workers` `hearth worker` processes, then
  `hearth instagram connect` (its first poll, run by those, finds nothing: the next waits
  for midnight UTC, so what is copied below is copied by the poll command);
- for `--seconds`, `--connections` asyncio clients POSTing Micropub form creates with the
  token, and as many POSTing webmentions (a new source each time), over keep-alive httpx;
  meanwhile, in a loop, a photo and a two-photo carousel appear on the fake Instagram and
  `hearth instagram poll` copies them home (files into the media store, a post each, then
  the workers post each copy's first comment).

Then it waits (up to `--drain` seconds) for the jobs due to finish, stops every process
with SIGTERM and prints the count of each status (and of transport errors), the poll runs
and what they copied, the count of "database is locked" and of "Traceback" in every
process's output, and the jobs left over. Exit status 1 when there was any 5xx, transport
error, failed poll, media not copied, "database is locked" or traceback.
`--keep` keeps the data dir (its logs) and prints where it is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from _procs import free_port  # bench/: run as `python bench/NAME.py`
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from hearth.syndication.instagram.fake import FakeInstagram, serve_instagram

LOCKED = "database is locked"
# What `hearth instagram poll` prints after a poll.
POLLED = re.compile(r"Copied (\d+) posts from Instagram \((\d+) updated, (\d+) failed\)")
# One request of a load client: (its client, its ordinal) -> the answer.
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@contextmanager
def fake_source(target: list[str]) -> Iterator[str]:
    """Serve `/r/N`, an h-entry replying to `target[0]`, on 127.0.0.1; yields its base URL."""

    async def reply(request: Request) -> HTMLResponse:
        n = request.path_params["n"]
        return HTMLResponse(
            '<article class="h-entry"><a class="p-author h-card" href="/">Loader</a>'
            f'<a class="u-in-reply-to" href="{target[0]}">re</a>'
            f'<p class="e-content">Reply {n}</p></article>'
        )

    app = Starlette(routes=[Route("/r/{n}", reply)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Load:
    statuses: Counter[str] = field(default_factory=Counter)
    sent: int = 0


async def _loop(
    client: httpx.AsyncClient, load: Load, kind: str, deadline: float, make: Send
) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        load.sent += 1
        try:
            response = await make(client, n)
            load.statuses[f"{kind} {response.status_code}"] += 1
        except httpx.TransportError as exc:
            load.statuses[f"{kind} {type(exc).__name__}"] += 1


async def run_load(
    base: str, token: str, target: str, source: str, seconds: float, connections: int
) -> Load:
    """`connections` clients creating posts and as many sending webmentions, for `seconds`."""
    load = Load()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def create(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(
            "micropub",
            data={"h": "entry", "content": f"Load note {n}", "category": "bench"},
            headers={"Authorization": f"Bearer {token}"},
        )

    def mention(prefix: int) -> Send:
        async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.post(
                "webmention", data={"source": f"{source}r/{prefix}-{n}", "target": target}
            )

        return send

    clients = [
        httpx.AsyncClient(base_url=base, limits=limits, timeout=60) for _ in range(2 * connections)
    ]
    try:
        await asyncio.gather(
            *(_loop(c, load, "create", deadline, create) for c in clients[:connections]),
            *(
                _loop(c, load, "webmention", deadline, mention(i))
                for i, c in enumerate(clients[connections:])
            ),
        )
    finally:
        for client in clients:
            await client.aclose()
    return load


def _wait_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("hearth serve did not come up:\n" + log.read_text())


def _query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "hearth.sqlite3", timeout=30) as conn:
        return conn.execute(sql).fetchall()


def _open_jobs(data_dir: Path) -> dict[str, int]:
    """Jobs by state; queued ones not due yet (the next poll, a token refresh, comment
    polls on their schedule) count as "later", not as work left."""
    now = datetime.now(UTC)
    jobs: Counter[str] = Counter()
    for state, run_at in _query(data_dir, "SELECT state, run_at FROM jobs"):
        later = state == "queued" and datetime.fromisoformat(str(run_at)) > now
        jobs["later" if later else str(state)] += 1
    return dict(jobs)


def _drain(data_dir: Path, seconds: float) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    while True:
        jobs = _open_jobs(data_dir)
        if not (jobs.get("queued", 0) + jobs.get("running", 0)) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.5)


@dataclass
class Polls:
    """The `hearth instagram poll` runs: what each copied, how long each took, their output."""

    media: int = 0  # media that appeared on the fake Instagram
    runs: int = 0
    copied: int = 0
    failed: int = 0  # media a poll could not copy
    errors: int = 0  # runs that exited non-zero
    seconds: list[float] = field(default_factory=list)
    output: list[str] = field(default_factory=list)


def _poll_once(hearth: list[str], env: Mapping[str, str], polls: Polls) -> None:
    began = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own command
        [*hearth, "instagram", "poll"], env=dict(env), capture_output=True, text=True, check=False
    )
    polls.seconds.append(time.monotonic() - began)
    polls.runs += 1
    polls.errors += done.returncode != 0
    polls.output.append(done.stdout + done.stderr)
    if found := POLLED.search(done.stdout):
        polls.copied += int(found[1])
        polls.failed += int(found[3])


def _poll_until(
    hearth: list[str], env: Mapping[str, str], fake: FakeInstagram, deadline: float
) -> Polls:
    """Until `deadline`: a photo and a two-photo carousel appear, then one poll copies them."""
    polls = Polls()
    while time.monotonic() < deadline:
        fake.add_media("IMAGE", caption=f"Photo {polls.runs}")
        fake.add_media("CAROUSEL_ALBUM", caption=f"Album {polls.runs}", children=("IMAGE",) * 2)
        polls.media += 2
        _poll_once(hearth, env, polls)
    return polls


def _copied(data_dir: Path) -> int:
    sql = "SELECT COUNT(*) FROM instagram_media WHERE copy_state = 'copied'"
    return int(str(_query(data_dir, sql)[0][0]))


def _wait_started(logs: list[Path]) -> None:
    """Until each worker says it runs: one starting after the connect would poll on its own."""
    deadline = time.monotonic() + 60
    while not all(b"started" in log.read_bytes() for log in logs):
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
        time.sleep(0.2)


def _connect(cli: Callable[..., str], data_dir: Path, fake: FakeInstagram) -> None:
    """`hearth instagram connect`, then wait for the poll it queues to have run."""
    cli("instagram", "connect", "--access-token", fake.token)
    sql = "SELECT COUNT(*) FROM jobs WHERE kind = 'instagram.poll' AND state = 'done'"
    deadline = time.monotonic() + 60
    while not int(str(_query(data_dir, sql)[0][0])):
        if time.monotonic() > deadline:
            raise SystemExit("the poll queued on connect never ran")
        time.sleep(0.2)


def _env(data_dir: Path, base: str, fake: FakeInstagram) -> dict[str, str]:
    return {
        **os.environ,
        "HEARTH_DATA_DIR": str(data_dir),
        "HEARTH_URL": base,
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "1",
        "HEARTH_MODERATION": "all",
        # This measures the database, not the webmention endpoint's rate limits: lift them.
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


@dataclass
class Outcome:
    """What one run measured."""

    load: Load
    took: float
    polls: Polls
    copied: int
    first_comments: int  # the owner's comments on the fake: one per copy, by the workers
    jobs: dict[str, int]
    text: str  # every process's output, the poll runs' too


def _run(
    data_dir: Path, fake: FakeInstagram, seconds: float, connections: int, workers: int,
    drain: float,
) -> Outcome:  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    env = _env(data_dir, base, fake)
    hearth = [sys.executable, "-m", "hearth.cli"]

    def cli(*args: str) -> str:
        return subprocess.run(  # noqa: S603 - our own command
            [*hearth, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    cli("migrate")
    token = cli("token", "create").strip().splitlines()[-1]
    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    logs: list[Path] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        log = data_dir / f"{name}.log"
        logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own command
                [*hearth, *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        processes.append((name, process))
        return process

    polls = Polls()
    try:
        serve = start("serve", "serve", "--port", str(port))
        _wait_up(base, serve, data_dir / "serve.log")
        for i in range(workers):
            start(f"worker{i + 1}", "worker")
        _wait_started(logs[1:])
        _connect(cli, data_dir, fake)
        first = httpx.post(
            base + "micropub",
            data={"h": "entry", "content": "The target of every webmention"},
            headers={"Authorization": f"Bearer {token}"},
        )
        first.raise_for_status()
        target = [first.headers["location"]]
        with fake_source(target) as source, ThreadPoolExecutor(1) as pool:
            began = time.monotonic()
            polling = pool.submit(_poll_until, hearth, env, fake, began + seconds)
            load = asyncio.run(run_load(base, token, target[0], source, seconds, connections))
            took = time.monotonic() - began
            polls = polling.result()
            jobs = _drain(data_dir, drain)
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    text += "\n".join(polls.output)
    first_comments = sum(1 for c in list(fake.comments.values()) if c.username == fake.username)
    return Outcome(load, took, polls, _copied(data_dir), first_comments, jobs, text)


def _report(outcome: Outcome, seconds: float, connections: int, workers: int, drain: float) -> int:
    """Print what was measured; the exit status (1: any failure at all)."""
    load, polls = outcome.load, outcome.polls
    locked = outcome.text.count(LOCKED)
    tracebacks = outcome.text.count("Traceback")
    total = sum(load.statuses.values())
    bad = sum(n for key, n in load.statuses.items() if key.split()[1][:1] not in "1234")
    print(
        f"{seconds:g} s, {connections} creating + {connections} sending webmentions, "
        f"hearth serve + {workers} hearth worker + hearth instagram poll on SQLite"
    )
    print(f"{total} answers in {outcome.took:.1f} s ({total / outcome.took:.0f}/s)")
    for key, count in sorted(load.statuses.items()):
        print(f"  {key}: {count}")
    mean = sum(polls.seconds) / len(polls.seconds) if polls.seconds else 0.0
    print(
        f"hearth instagram poll: {polls.runs} runs ({polls.errors} failed), "
        f"{mean:.1f} s each on average, {max(polls.seconds, default=0.0):.1f} s at most; "
        f"{polls.copied} of {polls.media} new media copied ({polls.failed} not), "
        f"{outcome.copied} copies in the database, {outcome.first_comments} first comments"
    )
    print(f"'{LOCKED}' in the output: {locked}")
    print(f"'Traceback' in the output: {tracebacks}")
    print(f"jobs after up to {drain:g} s of draining: {outcome.jobs}")
    missed = polls.errors or polls.failed or not polls.runs or outcome.copied != polls.media
    return 1 if bad or locked or tracebacks or missed else 0


def main(seconds: float, connections: int, workers: int, drain: float, keep: bool) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix="hearth-contention-"))
    with serve_instagram() as fake:
        outcome = _run(data_dir, fake, seconds, connections, workers, drain)
    status = _report(outcome, seconds, connections, workers, drain)
    if keep:
        print(f"data dir kept: {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--drain", type=float, default=60, help="seconds to wait for the jobs")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and its logs")
    args = parser.parse_args()
    sys.exit(main(args.seconds, args.connections, args.workers, args.drain, args.keep))
