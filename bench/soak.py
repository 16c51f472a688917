"""Soak: minutes of mixed traffic against the real processes, then checks that nothing was lost.

Run: `python bench/soak.py --store sqlite|postgres [--minutes 10] [--workers 2]
[--database-url postgres://...] [--out /tmp/soak-STORE.json] [--keep]`

Issue #13: "ten minutes of mixed reads, creates, webmentions and Instagram polls against the
fake, on SQLite and on PostgreSQL with two workers", with the 5xx count, the jobs lost or run
twice, and the memory at start and end. It runs, each in its own process, on a fresh data dir:

- `hearth migrate`, `hearth token create` (a Micropub token), `hearth instagram connect`;
- `hearth serve --no-worker` and `--workers` `hearth worker` processes (`--serve-worker` runs
  serve's in-process worker too);
- on 127.0.0.1, in this process: the fake Instagram (`hearth.syndication.instagram.fake`),
  which gets a new media every `--media-every` seconds and friends' comments on recent media
  (every other one also delivered as a signed webhook), and a fake web site whose pages
  `/r/N` reply to one of Hearth's posts (webmention sources) and whose pages `/t/N`, linked
  from each created post, take Hearth's outgoing webmentions at `/wm`;
- `hearth instagram poll` every `--poll-every` seconds, beside the workers' own poll chain
  (`HEARTH_INSTAGRAM_POLL_SECONDS=15`) and comment polls (`..._COMMENT_POLL_SECONDS=30`);
- `--concurrency` asyncio clients over keep-alive httpx, each request drawn at random: 70%
  reads (home, permalinks, feeds, tag pages, webmention status pages), 15% Micropub creates
  (JSON, content linking a `/t/N` page), 15% webmentions from a new `/r/N` source each.

The webmention endpoint's rate limits and the per-host fetch spacing are lifted: every fake
source is on one host, and the soak is about correctness, not about the limits (they would
answer 429/503 by design). After `--warmup` seconds of load the memory (VmRSS) of each process
is taken as "start"; then `--minutes` of load; then the bench waits up to `--drain` seconds
for the effects below, stops every process with SIGTERM and checks what a user would notice:

- lost: a created post whose permalink is not 200; an accepted webmention not verified and
  shown (its text on the target's page); a post's outgoing webmention never received; an
  Instagram media not copied home, or a new one without its short-link comment; a friend's
  comment not backfed; a poll chain that stopped; a job neither done nor dead after the drain;
- run twice: two posts syndicating one media; two short-link comments on one media; a
  comment backfed twice; an outgoing webmention received twice; a source fetched twice
  (retries after a failure would show here too: their job's error is listed);
- "database is locked", "Traceback" and "ERROR" lines in each process's log, 5xx answers
  (with the first bodies) and transport errors; memory at start, end and its maximum.

It prints a table and writes the whole result as JSON to `--out`. Exit status 1 if anything
was lost or run twice, or there was a 5xx, a transport error, a lock error or a traceback.
On PostgreSQL it works in its own schema (`?schema=hearth_soak`, or `--schema`), dropped and
made again at the start and dropped at the end unless `--keep`. To soak another checkout (e.g.
the last commit, `git archive HEAD | tar -x -C DIR`), run this file with `PYTHONPATH=DIR`: the
`hearth` processes inherit it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
import httpx
from _procs import (
    HEARTH,
    HearthProcess,
    ThreadServer,
    free_port,
    hearth_cli,
    loopback_socket,
    wait_for_output,
    wait_until_up,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from hearth.syndication.instagram.fake import FakeInstagram

SCHEMA = "hearth_soak"
LOG_MARKERS = {"locked": "database is locked", "traceback": "Traceback", "error": "ERROR"}
# Jobs that queue their own next run forever: "drained" never means none of them is due.
RECURRING = {"instagram.poll", "instagram.poll_comments", "instagram.refresh_token"}
READ_WEIGHT, CREATE_WEIGHT, MENTION_WEIGHT = 70, 15, 15
FIVE_XX_KEPT = 5  # bodies of the first 5xx answers kept for the report
BACKLOG_EVERY = 15  # seconds between two looks at the job queue during the load


# The fake web site: webmention sources, and targets of Hearth's outgoing webmentions ---------


@dataclass
class FakeWeb:
    """What the fake site served and received; its pages are made from `replies`."""

    base: str = ""
    replies: dict[int, str] = field(default_factory=dict)  # N -> the Hearth post /r/N replies to
    fetches: Counter[int] = field(default_factory=Counter)  # N -> GETs of /r/N
    # target -> the sources of the webmentions received for it (at /wm)
    received: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def app(self) -> Starlette:
        async def reply(request: Request) -> Response:
            n = int(request.path_params["n"])
            self.fetches[n] += 1
            if n not in self.replies:
                return PlainTextResponse("no such page", status_code=404)
            return HTMLResponse(
                f'<article class="h-entry"><a class="u-url" href="{self.base}r/{n}">#</a>'
                f'<a class="p-author h-card" href="{self.base}">Soak friend</a>'
                f'<a class="u-in-reply-to" href="{self.replies[n]}">re</a>'
                f'<p class="e-content">Soak reply {n}</p></article>'
            )

        async def target(request: Request) -> Response:
            return HTMLResponse(
                f'<link rel="webmention" href="{self.base}wm"><p>Page {request.path_params["n"]}'
            )

        async def endpoint(request: Request) -> Response:
            form = await request.form()
            self.received[str(form.get("target"))].append(str(form.get("source")))
            return PlainTextResponse("accepted", status_code=202)

        return Starlette(
            routes=[
                Route("/r/{n:int}", reply),
                Route("/t/{n:int}", target),
                Route("/wm", endpoint, methods=["POST"]),
            ]
        )


# What the load did, and what it expects to find afterwards -----------------------------------


@dataclass
class Tally:
    """Every answer by kind and status, latencies, 5xx bodies and transport errors."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    five_xx: list[dict[str, Any]] = field(default_factory=list)
    transport: Counter[str] = field(default_factory=Counter)

    async def send(
        self, kind: str, request: Callable[[], Awaitable[httpx.Response]]
    ) -> httpx.Response | None:
        began = time.monotonic()
        try:
            response = await request()
        except httpx.TransportError as exc:
            self.transport[f"{kind} {type(exc).__name__}"] += 1
            return None
        self.latencies[kind].append(time.monotonic() - began)
        self.statuses[f"{kind} {response.status_code}"] += 1
        if response.status_code >= 500 and len(self.five_xx) < FIVE_XX_KEPT:
            url, status, body = str(response.request.url), response.status_code, response.text
            self.five_xx.append({"kind": kind, "url": url, "status": status, "body": body[:500]})
        return response

    def count(self, status_class: str) -> int:
        return sum(n for key, n in self.statuses.items() if key.split()[-1][0] == status_class)


@dataclass
class Ledger:
    """The posts, webmentions, media and comments the soak made, to check afterwards."""

    posts: dict[str, str] = field(default_factory=dict)  # permalink -> the /t/N page it links
    post_list: list[str] = field(default_factory=list)  # the same permalinks, for random picks
    mentions: dict[int, tuple[str, str]] = field(default_factory=dict)  # N -> (target, status)
    history_media: list[str] = field(default_factory=list)  # older than the connection
    new_media: list[str] = field(default_factory=list)  # posted during the soak
    friend_comments: list[str] = field(default_factory=list)
    webhooks: Counter[str] = field(default_factory=Counter)  # status -> deliveries
    cli_polls: Counter[str] = field(default_factory=Counter)  # exit status -> runs


# The load ---------------------------------------------------------------------------------------


class Load:
    """The mixed traffic: reads, Micropub creates and webmentions, drawn at random."""

    def __init__(self, client: httpx.AsyncClient, token: str, web: FakeWeb, ledger: Ledger):
        self.client, self.token, self.web, self.ledger = client, token, web, ledger
        self.tally = Tally()
        self.numbers = itertools.count(1)
        self.reads: list[Callable[[], str]] = [
            lambda: "",
            lambda: "feed.atom",
            lambda: "feed.rss",
            lambda: "feed.json",
            lambda: "tags",
            lambda: f"tag/topic{random.randrange(7)}",
            lambda: "tag/soak",
            self._permalink,
            self._permalink,
            self._permalink,
            self._status_page,
        ]

    def _permalink(self) -> str:
        return random.choice(self.ledger.post_list) if self.ledger.post_list else ""

    def _status_page(self) -> str:
        if not self.ledger.mentions:
            return ""
        return random.choice(list(self.ledger.mentions.values()))[1]

    async def read(self) -> None:
        url = random.choice(self.reads)()
        await self.tally.send("read", lambda: self.client.get(url))

    async def create(self) -> None:
        n = next(self.numbers)
        link = f"{self.web.base}t/{n}"
        html = f'<p>Soak note {n} about <a href="{link}">page {n}</a>.</p>'
        body = {
            "type": ["h-entry"],
            "properties": {"content": [{"html": html}], "category": ["soak", f"topic{n % 7}"]},
        }
        headers = {"Authorization": f"Bearer {self.token}"}
        response = await self.tally.send(
            "create", lambda: self.client.post("micropub", json=body, headers=headers)
        )
        if response is not None and response.status_code in (201, 202):
            location = response.headers["location"]
            self.ledger.posts[location] = link
            self.ledger.post_list.append(location)

    async def mention(self) -> None:
        if not self.ledger.post_list:
            return await self.read()
        n = next(self.numbers)
        target = random.choice(self.ledger.post_list)
        self.web.replies[n] = target
        form = {"source": f"{self.web.base}r/{n}", "target": target}
        response = await self.tally.send(
            "webmention", lambda: self.client.post("webmention", data=form)
        )
        if response is not None and response.status_code in (201, 202):
            self.ledger.mentions[n] = (target, response.headers.get("location", ""))
        return None

    async def run(self, seconds: float, concurrency: int) -> None:
        deadline = time.monotonic() + seconds
        kinds = [self.read, self.create, self.mention]
        weights = [READ_WEIGHT, CREATE_WEIGHT, MENTION_WEIGHT]

        async def client_loop() -> None:
            while time.monotonic() < deadline:
                await random.choices(kinds, weights)[0]()

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))


# Instagram: new media, friends' comments (and webhooks), CLI polls ------------------------------


class Instagram:
    """Drives the fake Instagram (always on its own loop: see `ThreadServer`)."""

    KINDS = (("IMAGE", ()), ("CAROUSEL_ALBUM", ("IMAGE", "IMAGE")), ("VIDEO", ()))

    def __init__(self, fake: FakeInstagram, server: ThreadServer, ledger: Ledger) -> None:
        self.fake, self.server, self.ledger = fake, server, ledger
        self.numbers = itertools.count(1)

    def add_media(self, when: datetime | None = None) -> str:
        n = next(self.numbers)
        kind, children = self.KINDS[n % len(self.KINDS)]
        caption = f"Soak media {n} #soak{n % 5} with @friend{n % 3}"
        return self.server.call(
            self.fake.add_media, kind, caption=caption, children=children, when=when
        )

    def seed_history(self, count: int) -> None:
        """Media from before the connection: copied home, never commented on."""
        for i in range(count):
            when = datetime.now(UTC) - timedelta(days=3, hours=i)
            self.ledger.history_media.append(self.add_media(when))

    async def new_media(self, every: float, until: float) -> None:
        while time.monotonic() < until:
            self.ledger.new_media.append(await asyncio.to_thread(self.add_media))
            await asyncio.sleep(every)

    async def comments(self, client: httpx.AsyncClient, every: float, until: float) -> None:
        """A friend comments on a recent media; every other comment also comes as a webhook."""
        for n in itertools.count(1):
            if time.monotonic() >= until:
                return
            await asyncio.sleep(every)
            if not self.ledger.new_media:
                continue
            media_id = random.choice(self.ledger.new_media[-10:])
            comment_id = await self.server.acall(
                self.fake.add_comment, media_id, f"Soak comment {n}", username=f"friend{n % 4}"
            )
            self.ledger.friend_comments.append(comment_id)
            if n % 2:
                await self.webhook(client, comment_id)

    async def webhook(self, client: httpx.AsyncClient, comment_id: str) -> None:
        def signed() -> tuple[bytes, str]:
            return self.fake.signed_webhook(self.fake.webhook_payload(comment_id))

        body, signature = await self.server.acall(signed)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        try:
            response = await client.post(
                "syndication/instagram/webhook", content=body, headers=headers
            )
            self.ledger.webhooks[str(response.status_code)] += 1
        except httpx.TransportError as exc:
            self.ledger.webhooks[type(exc).__name__] += 1

    async def cli_poll(self, env: dict[str, str], log: Path) -> None:
        """`hearth instagram poll` once, its output appended to `log`."""
        process = await asyncio.create_subprocess_exec(
            *HEARTH, "instagram", "poll", env=env, cwd=log.parent,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        self.ledger.cli_polls[str(process.returncode)] += 1
        with log.open("ab") as out:
            out.write(output)

    async def cli_polls(self, env: dict[str, str], log: Path, every: float, until: float) -> None:
        while time.monotonic() < until:
            await asyncio.sleep(every)
            await self.cli_poll(env, log)

    def snapshot(self) -> tuple[dict[str, str], Counter[str]]:
        """Each media's permalink (by id), and the owner's comments per media id."""

        def read() -> tuple[dict[str, str], Counter[str]]:
            links = {m.id: f"{self.fake.base}p/{m.shortcode}/" for m in self.fake.media}
            ours = Counter(
                c.media_id for c in self.fake.comments.values() if c.username == self.fake.username
            )
            return links, ours

        return self.server.call(read)


# The database, read directly (SQLite file or PostgreSQL schema) --------------------------------


class Store(Protocol):
    async def rows(self, sql: str) -> list[dict[str, Any]]: ...

    async def close(self) -> None: ...


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._rows, sql)  # the load's loop keeps running

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        # Read-only, WAL: never takes the writers' lock, so it cannot disturb them.
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql).fetchall()]

    async def close(self) -> None:
        return None


class PostgresStore:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str, schema: str) -> PostgresStore:
        return cls(await asyncpg.connect(url, server_settings={"search_path": schema}))

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return [dict(record) for record in await self.conn.fetch(sql)]

    async def close(self) -> None:
        await self.conn.close()


async def reset_schema(url: str, schema: str, *, create: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        if create:
            await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()


def as_time(value: Any) -> datetime | None:
    """A stored datetime (SQLite gives text, PostgreSQL a datetime), aware, in UTC."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


# Checks -----------------------------------------------------------------------------------------


@dataclass
class World:
    """The database and the fakes, read once."""

    posts: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    media_rows: dict[str, dict[str, Any]]
    links: dict[str, str]  # media id -> Instagram permalink
    owner_comments: Counter[str]  # media id -> the owner's comments on it

    @classmethod
    async def read(cls, store: Store, instagram: Instagram) -> World:
        links, ours = await asyncio.to_thread(instagram.snapshot)
        media = await store.rows(
            "SELECT media_id, post_id, copy_state, last_error FROM instagram_media"
        )
        return cls(
            posts=await store.rows("SELECT id, path, properties, deleted_at FROM posts"),
            responses=await store.rows(
                "SELECT source, target, state, approval, origin, external_id, reason FROM responses"
            ),
            jobs=await store.rows(
                "SELECT id, kind, state, attempts, run_at, payload, last_error FROM jobs"
            ),
            media_rows={row["media_id"]: row for row in media},
            links=links,
            owner_comments=ours,
        )

    def copies(self) -> Counter[str]:
        """Posts (not deleted) per syndication URL."""
        found: Counter[str] = Counter()
        for post in self.posts:
            if post["deleted_at"] is None:
                found.update(set(as_json(post["properties"]).get("syndication", [])))
        return found

    def due_jobs(self, now: datetime) -> list[dict[str, Any]]:
        """Jobs that should have run by now and have not finished (recurring ones aside)."""
        return [
            job
            for job in self.jobs
            if job["kind"] not in RECURRING
            and (
                job["state"] == "running"
                or (job["state"] == "queued" and (as_time(job["run_at"]) or now) <= now)
            )
        ]


def outstanding(world: World, ledger: Ledger, web: FakeWeb) -> dict[str, list[Any]]:
    """Expected effects not (yet) there; empty lists when everything has happened."""
    by_source = {row["source"]: row for row in world.responses}
    backfed = {row["external_id"] for row in world.responses if row["origin"] == "instagram"}
    copies = world.copies()
    now = datetime.now(UTC)
    return {
        "webmentions not verified": [
            n
            for n in ledger.mentions
            if (row := by_source.get(f"{web.base}r/{n}")) is None or row["state"] == "pending"
        ],
        "outgoing webmentions not received": [
            link for link in ledger.posts.values() if link not in web.received
        ],
        "media not copied": [
            m for m in ledger.history_media + ledger.new_media if not copies[world.links[m]]
        ],
        "first comments missing": [m for m in ledger.new_media if not world.owner_comments[m]],
        "comments not backfed": [c for c in ledger.friend_comments if c not in backfed],
        "jobs due or running": [
            f"{job['kind']}#{job['id']} {job['state']}" for job in world.due_jobs(now)
        ],
    }


def duplicates(world: World, ledger: Ledger, web: FakeWeb) -> dict[str, dict[str, int]]:
    """Effects that happened more than once: what a job run twice would leave."""
    copies = world.copies()
    backfed = Counter(row["external_id"] for row in world.responses if row["origin"] == "instagram")
    return {
        "posts per media": {m: copies[link] for m, link in world.links.items() if copies[link] > 1},
        "first comments per media": {m: n for m, n in world.owner_comments.items() if n > 1},
        "backfed per comment": {c: backfed[c] for c in ledger.friend_comments if backfed[c] > 1},
        "outgoing webmentions per post": {
            target: len(sources) for target, sources in web.received.items() if len(sources) > 1
        },
        "source fetches per webmention": {
            str(n): web.fetches[n] for n in ledger.mentions if web.fetches[n] > 1
        },
    }


def wrong_end_states(world: World, ledger: Ledger, web: FakeWeb) -> dict[str, list[Any]]:
    """Effects present but not as they should end: webmentions not shown, copies not marked."""
    by_source = {row["source"]: row for row in world.responses}
    mentions = []
    for n in ledger.mentions:
        row = by_source.get(f"{web.base}r/{n}")
        if row is None or row["state"] == "pending":
            continue  # not verified yet: counted as lost
        if (row["state"], row["approval"]) != ("accepted", "approved"):
            mentions.append(f"r/{n}: {row['state']}/{row['approval']} {row['reason'] or ''}")
    history_commented = [m for m in ledger.history_media if world.owner_comments[m]]
    sources = [
        f"{target}: {sources}"
        for target, sources in web.received.items()
        if any(source not in ledger.posts for source in sources)
    ]
    media = [
        f"{m}: {row['copy_state']} {row['last_error'] or ''}"
        for m, row in world.media_rows.items()
        if row["copy_state"] not in ("copied", "pending", "copying")  # those are lost
    ]
    return {
        "webmentions not accepted/approved": mentions,
        "history media commented on": history_commented,
        "outgoing webmentions from an unknown source": sources,
        "instagram_media rows not copied": media,
    }


def chains(world: World, ledger: Ledger) -> dict[str, Any]:
    """The self-scheduling Instagram polls must still be queued (or running: it queues the next
    one as it ends): a chain that stopped is lost work."""
    queued = [job for job in world.jobs if job["state"] in ("queued", "running")]
    polled = {
        as_json(job["payload"]).get("media_id")
        for job in queued
        if job["kind"] == "instagram.poll_comments"
    }
    return {
        "media poll queued": any(job["kind"] == "instagram.poll" for job in queued),
        "new media without a queued comment poll": [m for m in ledger.new_media if m not in polled],
    }


def job_summary(world: World) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    retried: Counter[str] = Counter()
    errors: dict[str, str] = {}
    for job in world.jobs:
        by_kind[job["kind"]][job["state"]] += 1
        if job["state"] == "done" and job["attempts"] > 1:
            retried[job["kind"]] += 1
            errors.setdefault(job["kind"], (job["last_error"] or "")[:300])
    dead = [
        {"kind": job["kind"], "id": job["id"], "error": (job["last_error"] or "")[:300]}
        for job in world.jobs
        if job["state"] == "dead"
    ]
    return {
        "by_kind": {kind: dict(states) for kind, states in sorted(by_kind.items())},
        "retried (done after >1 attempt)": dict(retried),
        "retry errors (first per kind)": errors,
        "dead": dead,
    }


async def pages_check(
    client: httpx.AsyncClient, ledger: Ledger, web: FakeWeb, world: World
) -> dict[str, list[str]]:
    """GET every created post: 200, and each accepted reply's text on its page."""
    replies: dict[str, list[int]] = defaultdict(list)
    by_source = {row["source"]: row for row in world.responses}
    for n, (target, _) in ledger.mentions.items():
        row = by_source.get(f"{web.base}r/{n}")
        if row is not None and (row["state"], row["approval"]) == ("accepted", "approved"):
            replies[target].append(n)
    not_ok: list[str] = []
    not_shown: list[str] = []
    gate = asyncio.Semaphore(8)

    async def check(url: str) -> None:
        async with gate:
            try:
                response = await client.get(url)
            except httpx.TransportError as exc:
                not_ok.append(f"{url}: {type(exc).__name__}")
                return
        if response.status_code != 200:
            not_ok.append(f"{url}: {response.status_code}")
            return
        not_shown.extend(
            f"r/{n} on {url}" for n in replies[url] if f"Soak reply {n}" not in response.text
        )

    await asyncio.gather(*(check(url) for url in ledger.posts))
    return {"permalinks not 200": not_ok, "replies not on their page": not_shown}


# Memory -----------------------------------------------------------------------------------------


@dataclass
class Monitor:
    """Memory of each process every 5 s, and the job backlog every `BACKLOG_EVERY` s."""

    samples: list[tuple[float, dict[str, int | None]]] = field(default_factory=list)
    marks: dict[str, dict[str, int | None]] = field(default_factory=dict)
    backlog: list[dict[str, Any]] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    def sample(self, processes: list[HearthProcess], mark: str | None = None) -> None:
        taken = {p.name: p.rss_kb() for p in processes}
        self.samples.append((time.monotonic(), taken))
        if mark:
            self.marks[mark] = taken

    async def queue(self, store: Store) -> None:
        """Jobs due and not running, running, and done so far: a stalled queue shows here."""
        now = datetime.now(UTC)
        rows = await store.rows("SELECT kind, state, run_at FROM jobs")
        due = sum(
            1
            for r in rows
            if r["state"] == "queued"
            and r["kind"] not in RECURRING
            and (as_time(r["run_at"]) or now) <= now
        )
        states = Counter(r["state"] for r in rows)
        self.backlog.append(
            {"t": round(time.monotonic() - self.began), "due": due}
            | {state: states[state] for state in ("running", "done", "dead")}
        )

    async def watch(self, processes: list[HearthProcess], store: Store, until: float) -> None:
        last_queue = 0.0
        while time.monotonic() < until:
            self.sample(processes)
            if time.monotonic() - last_queue >= BACKLOG_EVERY:
                last_queue = time.monotonic()
                await self.queue(store)
            await asyncio.sleep(5)

    def table(self, processes: list[HearthProcess]) -> dict[str, dict[str, float | None]]:
        result = {}
        for p in processes:
            seen = [kb for _, s in self.samples if (kb := s.get(p.name))]
            result[p.name] = {
                **{mark: _mb(values.get(p.name)) for mark, values in self.marks.items()},
                "max": _mb(max(seen)) if seen else None,
            }
        return result

    def series(self) -> list[dict[str, Any]]:
        return [
            {"t": round(t - self.began)} | {name: _mb(kb) for name, kb in taken.items()}
            for t, taken in self.samples
        ]


def _mb(kb: int | None) -> float | None:
    return round(kb / 1024, 1) if kb else None


# The run ----------------------------------------------------------------------------------------


@dataclass
class Options:
    store: str
    minutes: float
    workers: int
    database_url: str | None
    schema: str
    out: Path
    concurrency: int
    warmup: float
    drain: float
    poll_every: float
    media_every: float
    comment_every: float
    serve_worker: bool
    keep: bool


def hearth_env(opts: Options, data_dir: Path, base: str, fake: FakeInstagram) -> dict[str, str]:
    env = {
        **os.environ,
        "HEARTH_DATA_DIR": str(data_dir),
        "HEARTH_URL": base,
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
        "HEARTH_MODERATION": "all",
        # Every fake source is on one host (see the docstring): lift the limits.
        "HEARTH_WEBMENTION_PER_HOST_PER_MINUTE": "1000000",
        "HEARTH_WEBMENTION_PER_MINUTE": "1000000",
        "HEARTH_WEBMENTION_MAX_QUEUED": "1000000",
        "HEARTH_WEBMENTION_FETCH_INTERVAL": "0",
        # A failed job is retried within seconds, so the drain need not wait half a minute.
        "HEARTH_JOB_BACKOFF_SECONDS": "2",
        "HEARTH_INSTAGRAM_API_URL": fake.base.rstrip("/"),
        "HEARTH_INSTAGRAM_APP_ID": fake.app_id,
        "HEARTH_INSTAGRAM_APP_SECRET": fake.app_secret,
        "HEARTH_INSTAGRAM_VERIFY_TOKEN": "soak-verify-token",
        "HEARTH_INSTAGRAM_POLL_SECONDS": "15",
        "HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS": "30",
    }
    env.pop("HEARTH_DATABASE_URL", None)
    if opts.store == "postgres":
        assert opts.database_url
        sep = "&" if "?" in opts.database_url else "?"
        env["HEARTH_DATABASE_URL"] = f"{opts.database_url}{sep}schema={opts.schema}"
    return env


def code_root(cwd: Path) -> str:
    """The checkout the `hearth` processes import (as they are started: see `hearth_cli`)."""
    where = "import hearth, os; print(os.path.dirname(os.path.dirname(hearth.__file__)))"
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", where], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def log_counts(text: str) -> dict[str, int]:
    return {name: text.count(marker) for name, marker in LOG_MARKERS.items()}


@contextmanager
def fakes() -> Iterator[tuple[FakeInstagram, ThreadServer, FakeWeb, ThreadServer]]:
    """The fake Instagram and the fake web site, each on its own loop and port."""
    sock = loopback_socket()
    fake = FakeInstagram(f"http://127.0.0.1:{sock.getsockname()[1]}/")
    web_sock = loopback_socket()
    web = FakeWeb(base=f"http://127.0.0.1:{web_sock.getsockname()[1]}/")
    with ThreadServer(fake.app(), sock) as fake_server, ThreadServer(web.app(), web_sock) as site:
        yield fake, fake_server, web, site


async def drain(
    store: Store, instagram: Instagram, ledger: Ledger, web: FakeWeb, seconds: float
) -> tuple[float, dict[str, list[Any]]]:
    """Wait until every expected effect is there (or `seconds` pass); the wait and what is left."""
    began = time.monotonic()
    while True:
        world = await World.read(store, instagram)
        left = outstanding(world, ledger, web)
        if not any(left.values()) or time.monotonic() - began > seconds:
            return time.monotonic() - began, left
        await asyncio.sleep(2)


async def soak(opts: Options, data_dir: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    ledger = Ledger()
    with fakes() as (fake, fake_server, web, _):
        env = hearth_env(opts, data_dir, base, fake)
        instagram = Instagram(fake, fake_server, ledger)
        instagram.seed_history(5)
        hearth_cli(env, data_dir, "migrate")
        token = hearth_cli(env, data_dir, "token", "create").strip().splitlines()[-1]
        hearth_cli(env, data_dir, "instagram", "connect", "--access-token", fake.token)
        serve_args = ["serve", "--port", str(port)] + ([] if opts.serve_worker else ["--no-worker"])
        processes = [HearthProcess("serve", serve_args, env, data_dir / "serve.log")]
        processes += [
            HearthProcess(f"worker{i}", ["worker"], env, data_dir / f"worker{i}.log")
            for i in range(1, opts.workers + 1)
        ]
        store: Store = SQLiteStore(data_dir / "hearth.sqlite3")
        if opts.store == "postgres":
            assert opts.database_url
            store = await PostgresStore.open(opts.database_url, opts.schema)
        try:
            processes[0].start()
            await asyncio.to_thread(wait_until_up, base, processes[0])
            for process in processes[1:]:
                process.start()
            for process in processes[1:]:
                await asyncio.to_thread(wait_for_output, process, "started")
            result = await drive(opts, env, base, token, processes, store, instagram, web, ledger)
        finally:
            # Alive until now, or not: a process that died mid-soak is a failure by itself.
            died = [p.name for p in processes if not p.alive()]
            stops = {p.name: p.stop() for p in processes}
            await store.close()
    result["died before the end"] = died
    result["exit_statuses"] = stops
    return result


async def drive(
    opts: Options,
    env: dict[str, str],
    base: str,
    token: str,
    processes: list[HearthProcess],
    store: Store,
    instagram: Instagram,
    web: FakeWeb,
    ledger: Ledger,
) -> dict[str, Any]:
    data_dir = Path(env["HEARTH_DATA_DIR"])
    poll_log = data_dir / "instagram-poll.log"
    memory = Monitor()
    limits = httpx.Limits(max_connections=opts.concurrency + 4)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        load = Load(client, token, web, ledger)
        seconds = opts.minutes * 60
        until = time.monotonic() + opts.warmup + seconds
        side = [
            asyncio.create_task(instagram.new_media(opts.media_every, until)),
            asyncio.create_task(instagram.comments(client, opts.comment_every, until)),
            asyncio.create_task(instagram.cli_polls(env, poll_log, opts.poll_every, until)),
            asyncio.create_task(memory.watch(processes, store, until)),
        ]
        print(f"warm-up {opts.warmup:g} s ...", flush=True)
        await load.run(opts.warmup, opts.concurrency)
        memory.sample(processes, "start")
        print(f"load {opts.minutes:g} min at concurrency {opts.concurrency} ...", flush=True)
        began = time.monotonic()
        await load.run(seconds, opts.concurrency)
        took = time.monotonic() - began
        memory.sample(processes, "end of load")
        await asyncio.gather(*side)
        await instagram.cli_poll(env, poll_log)  # the last media, copied by a CLI poll too
        print(f"draining (up to {opts.drain:g} s) ...", flush=True)
        waited, left = await drain(store, instagram, ledger, web, opts.drain)
        memory.sample(processes, "end")
        world = await World.read(store, instagram)
        pages = await pages_check(client, ledger, web, world)
    return report(
        opts, load.tally, took, ledger, web, world, waited, left, pages, memory, processes, poll_log
    )


def report(
    opts: Options,
    tally: Tally,
    took: float,
    ledger: Ledger,
    web: FakeWeb,
    world: World,
    waited: float,
    left: dict[str, list[Any]],
    pages: dict[str, list[str]],
    memory: Monitor,
    processes: list[HearthProcess],
    poll_log: Path,
) -> dict[str, Any]:
    twice = duplicates(world, ledger, web)
    wrong = wrong_end_states(world, ledger, web)
    chain = chains(world, ledger)
    unpolled = "new media without a queued comment poll"
    lost = {**left, **pages, unpolled: chain[unpolled]}
    if not chain["media poll queued"]:
        lost["media poll chain"] = ["no instagram.poll job queued"]
    latency = {
        kind: {
            "p50_ms": round(statistics.median(values) * 1000),
            "p95_ms": round(statistics.quantiles(values, n=20)[-1] * 1000),
            "max_ms": round(max(values) * 1000),
        }
        for kind, values in tally.latencies.items()
        if len(values) > 1
    }
    logs = {p.name: log_counts(p.output()) for p in processes}
    logs["instagram poll (CLI)"] = log_counts(
        poll_log.read_text(errors="replace") if poll_log.exists() else ""
    )
    return {
        "store": opts.store,
        "minutes": opts.minutes,
        "workers": opts.workers,
        "serve_worker": opts.serve_worker,
        "concurrency": opts.concurrency,
        "requests": {
            "total": sum(tally.statuses.values()),
            "per_second": round(sum(tally.statuses.values()) / took, 1),
            "by_kind_status": dict(sorted(tally.statuses.items())),
        },
        "latency": latency,
        "5xx": tally.count("5"),
        "5xx_first": tally.five_xx,
        "transport_errors": dict(tally.transport),
        "made": {
            "posts": len(ledger.posts),
            "webmentions accepted": len(ledger.mentions),
            "instagram media": len(ledger.history_media) + len(ledger.new_media),
            "friend comments": len(ledger.friend_comments),
            "webhook deliveries": dict(ledger.webhooks),
            "cli polls (exit status: runs)": dict(ledger.cli_polls),
            "outgoing webmentions received": sum(len(v) for v in web.received.values()),
        },
        "drain_seconds": round(waited, 1),
        "lost_count": sum(len(v) for v in lost.values()),
        "lost": _counted(lost),
        "run_twice_count": sum(len(v) for v in twice.values()),
        "run_twice": _counted(
            {k: [f"{key}: {n}x" for key, n in v.items()] for k, v in twice.items()}
        ),
        "wrong_end_states_count": sum(len(v) for v in wrong.values()),
        "wrong_end_states": _counted(wrong),
        "jobs": job_summary(world),
        "memory_mb": memory.table(processes),
        "memory_samples_mb": memory.series(),
        "job_backlog": memory.backlog,
        "logs": logs,
    }


def _counted(found: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """Each check's count and its first few examples (the JSON stays readable)."""
    return {what: {"count": len(items), "examples": items[:10]} for what, items in found.items()}


def _print_counted(title: str, total: int, found: dict[str, dict[str, Any]]) -> None:
    print(f"{title:<14}{total}")
    for what, item in found.items():
        if item["count"]:
            print(f"  {what}: {item['count']}, e.g. {item['examples'][:3]}")


def print_table(result: dict[str, Any]) -> None:
    r = result
    print()
    print(
        f"Soak on {r['store']}: {r['minutes']:g} min, serve + {r['workers']} workers, "
        f"concurrency {r['concurrency']}, code in {r['code']}"
    )
    req = r["requests"]
    print(f"requests      {req['total']} ({req['per_second']}/s)")
    classes: Counter[str] = Counter()
    for key, n in req["by_kind_status"].items():
        kind, status = key.split()
        classes[f"{kind} {status[0]}xx"] += n
    print("  " + ", ".join(f"{k}: {n}" for k, n in sorted(classes.items())))
    for kind, lat in r["latency"].items():
        print(
            f"  {kind:<10} p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms"
        )
    print(f"5xx           {r['5xx']}")
    for sample in r["5xx_first"]:
        print(f"  {sample['status']} {sample['url']}: {sample['body'][:200]!r}")
    print(f"transport err {sum(r['transport_errors'].values())} {r['transport_errors'] or ''}")
    made = r["made"]
    print(
        f"made          {made['posts']} posts, {made['webmentions accepted']} webmentions, "
        f"{made['instagram media']} media, {made['friend comments']} comments, "
        f"{sum(made['cli polls (exit status: runs)'].values())} CLI polls "
        f"{made['cli polls (exit status: runs)']}"
    )
    due = " ".join(str(b["due"]) for b in r["job_backlog"])
    print(f"jobs due      every {BACKLOG_EVERY} s of the load: {due}")
    print(f"drained in    {r['drain_seconds']} s (the wait for every expected effect)")
    _print_counted("jobs lost", r["lost_count"], r["lost"])
    _print_counted("run twice", r["run_twice_count"], r["run_twice"])
    _print_counted("wrong states", r["wrong_end_states_count"], r["wrong_end_states"])
    jobs = r["jobs"]
    print(f"dead jobs     {len(jobs['dead'])} {[d['kind'] for d in jobs['dead'][:5]]}")
    print(f"retried jobs  {jobs['retried (done after >1 attempt)']}")
    print("memory (MB)   " + "  ".join(f"{m:>12}" for m in ("start", "end of load", "end", "max")))
    for name, marks in r["memory_mb"].items():
        values = [marks.get(m) for m in ("start", "end of load", "end", "max")]
        print(f"  {name:<11} " + "  ".join(f"{v if v is not None else '-':>12}" for v in values))
    print(f"exit statuses {r['exit_statuses']}; died before the end: {r['died before the end']}")
    print("logs          locked / Traceback / ERROR")
    for name, counts in r["logs"].items():
        print(f"  {name:<20} {counts['locked']} / {counts['traceback']} / {counts['error']}")


def failed(result: dict[str, Any]) -> bool:
    logs = result["logs"].values()
    return bool(
        result["5xx"]
        or result["transport_errors"]
        or result["lost_count"]
        or result["run_twice_count"]
        or result["wrong_end_states_count"]
        or any(c["locked"] or c["traceback"] for c in logs)
        or result["died before the end"]
        # A graceful stop: uvicorn re-raises SIGTERM after shutting down, a worker exits 0.
        or any(status not in (0, -15) for status in result["exit_statuses"].values())
    )


def parse_args() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("HEARTH_TEST_DATABASE_URL"),
                        help="PostgreSQL URL (default: $HEARTH_TEST_DATABASE_URL)")  # fmt: skip
    parser.add_argument("--schema", default=SCHEMA, help="PostgreSQL schema (made and dropped)")
    parser.add_argument("--out", type=Path, help="JSON result (default /tmp/soak-STORE.json)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=30, help="seconds before 'start' memory")
    parser.add_argument("--drain", type=float, default=240, help="seconds to wait for effects")
    parser.add_argument("--poll-every", type=float, default=20, help="`hearth instagram poll`")
    parser.add_argument("--media-every", type=float, default=6, help="new media on the fake")
    parser.add_argument("--comment-every", type=float, default=4, help="friends' comments")
    parser.add_argument("--serve-worker", action="store_true", help="serve runs a worker too")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (logs), schema")
    args = parser.parse_args()
    if args.store == "postgres" and not args.database_url:
        parser.error("--store postgres needs --database-url or HEARTH_TEST_DATABASE_URL")
    out = args.out or Path(f"/tmp/soak-{args.store}.json")  # noqa: S108 - the default the issue names
    return Options(
        args.store, args.minutes, args.workers, args.database_url, args.schema, out,
        args.concurrency,
        args.warmup, args.drain, args.poll_every, args.media_every, args.comment_every,
        args.serve_worker, args.keep,
    )  # fmt: skip


async def main(opts: Options) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix=f"hearth-soak-{opts.store}-"))
    if opts.store == "postgres":
        assert opts.database_url
        await reset_schema(opts.database_url, opts.schema, create=True)
    try:
        result = await soak(opts, data_dir)
    finally:
        if opts.store == "postgres" and not opts.keep:
            assert opts.database_url
            await reset_schema(opts.database_url, opts.schema, create=False)
    result["data_dir"] = str(data_dir) if opts.keep else None
    result["code"] = code_root(data_dir)
    opts.out.write_text(json.dumps(result, indent=2, default=str))
    print_table(result)
    print(f"JSON: {opts.out}" + (f"; data dir kept: {data_dir}" if opts.keep else ""))
    if not opts.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed(result) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
