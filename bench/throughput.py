"""Benchmark: `hearth serve` under wrk against two reference apps, in the same run.

Run: `python bench/throughput.py [--posts 10000] [--threads 1] [--connections 32]
[--seconds 10] [--json out.json] [--profile DIR]`; `--startup-only` times the start-up alone.

Issue #14 ("How to measure"). This starts the real `hearth serve` (`python -m hearth.cli
serve`, its in-process worker on) on a data dir seeded with `--posts` posts (100, 10,000 and
100,000 are the sizes the issue names), and drives it with wrk (Debian's `wrk`, with
`--latency` for p50/p75/p90/p99), each endpoint for `--seconds` with `--threads` threads and
`--connections` connections:

- reads: the home page (h-feed), a permalink, a tag page, a short link (its 301), the
  Atom, RSS and JSON feeds; each against the `hello` reference (bare Starlette), after
  `--warmup` seconds of the same load;
- Micropub create (a form-encoded note, `Authorization: Bearer` with a fresh token, each
  body unique, since a create resent within 30 s answers with the first post) and
  webmentions received (each from a new source URL on a local fake site, all to one
  seeded post, the webmention rate limits lifted by `HEARTH_WEBMENTION_*`); each against
  the `insert` reference (Starlette + one aiosqlite INSERT per request). wrk sends these
  bodies from a Lua script written to the run's temp dir, which also counts the answers.

The reference apps are in `bench/reference_apps.py`, which says what they are and why; they
run under `uvicorn.run` with exactly the settings `hearth serve` uses (default loop and
HTTP implementation, i.e. uvloop and httptools, `log_level="info"` with the access log,
no proxy headers), every server's output going to a file, so only the app differs.

Seeding goes through the real code path, in-process, before `hearth serve` starts:
`hearth.server.core.posts.create_post` for every post (path, short code, category rows, the
search index's triggers), inside one `db.connect`, a transaction per batch of 1,000 posts;
one post in five is an article with a title, every post has one of 20 tags (the tag page
is `tag1`'s). Seeding slows as posts pile up: create_post counts the day's short codes with
`CAST(short_code AS VARCHAR) LIKE 'stem%'`, a scan of every post's code (15 s for 10,000
posts, 20 minutes for 100,000 on this busy 2-core machine). So the seeded data dir is
cached under `/tmp/hearth-bench-throughput/` by post count and migration list, and each
run works on copies of it.

It prints the start-up time of `hearth serve` (process start to the first 200 on `/`, on
a fresh copy, `--startup-runs` times: wall seconds, and the CPU seconds the process used,
which the machine's other load hardly changes), then one Markdown table (endpoint,
reference req/s, Hearth req/s, Hearth's p50/p99, the ratio Hearth / reference, the issue's
target ratio: 0.5 reads, 0.2 create, 0.3 webmention; the CPU milliseconds the server
process, all its threads, spent per answered request, Hearth's and the reference's, and
their ratio, which the machine's other load moves far less than req/s (Hearth's includes
its in-process worker: for webmentions, the verifications it ran meanwhile); answers other
than 2xx/3xx and socket errors), then whether the writes were kept: posts on the site
with a bench body against the 2xx answers wrk counted, and the webmentions stored, by
state, once the worker has drained the verification queue (up to `--drain` seconds).
`--profile DIR` runs py-spy on `hearth serve` during each endpoint, keeps the collapsed
stacks in DIR and prints where the time went (py-spy slows the server: do not compare
those numbers with others). The machine's other load shows up in every number; the
ratios to the reference measured in the same run are what to compare between runs.

It measures the checkout it lives in (every command runs from the repository root, and the
first line of the output names the commit, `-dirty` with uncommitted changes). To measure a
commit alone, export it and run the copy: `git archive HEAD | tar -x -C /tmp/h`, copy this
file, `reference_apps.py` and `_procs.py` into `/tmp/h/bench/`, then `cd /tmp/h &&
PYTHONPATH=/tmp/h python bench/throughput.py` (PYTHONPATH wins over an editable install of
another checkout).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from _procs import free_port  # bench/: run as `python bench/NAME.py`

REPO = Path(__file__).resolve().parent.parent
REFERENCE_APPS = Path(__file__).resolve().parent / "reference_apps.py"
CACHE = Path(tempfile.gettempdir()) / "hearth-bench-throughput"
DB_FILE = "hearth.sqlite3"
TAGS = 20
BATCH = 1000
READ_TARGET, CREATE_TARGET, WEBMENTION_TARGET = 0.5, 0.2, 0.3
FORM = "application/x-www-form-urlencoded"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


# --- seeding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seed:
    """A seeded data dir and the pages the benchmark asks for."""

    data_dir: Path
    posts: int
    permalink: str  # site-relative paths, no leading slash
    shortlink: str
    tag: str
    mention_target: str


def _schema_key() -> str:
    """The migrations a seed was made with: a new one makes a new seed."""
    names = sorted(str(p.relative_to(REPO)) for p in REPO.glob("**/migrations/0*.py"))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]


def _properties(n: int) -> tuple[str, dict[str, list[str]]]:
    tag = f"tag{n % TAGS}"
    words = f"Seeded post number {n}, about {tag}, with a few more words to render."
    if n % 5 == 0:
        return "entry", {"name": [f"Article {n}"], "content": [words * 4], "category": [tag]}
    return "entry", {"content": [words], "category": [tag]}


async def _fill(data_dir: Path, count: int) -> None:
    from tortoise.transactions import in_transaction

    from hearth import wiring
    from hearth.server.core import db
    from hearth.server.core.posts import create_post
    from hearth.server.core.settings import Settings

    wiring.install(wiring.features())
    # One post every 37 minutes, ending a day ago: about 39 a day, none scheduled.
    start = datetime.now(UTC) - timedelta(days=1, minutes=37 * count)
    async with db.connect(Settings(data_dir=data_dir)):
        for first in range(0, count, BATCH):
            async with in_transaction():
                for n in range(first, min(first + BATCH, count)):
                    h_type, properties = _properties(n)
                    when = start + timedelta(minutes=37 * n)
                    await create_post(properties, h_type=h_type, published=when)
            print(f"  seeded {min(first + BATCH, count)}/{count}", file=sys.stderr, flush=True)


def _pages(data_dir: Path, count: int) -> dict[str, str]:
    """A permalink and a short link from the middle of the feed, a tag, a mention target."""
    with sqlite3.connect(data_dir / DB_FILE) as conn:
        rows = conn.execute(
            "SELECT path, short_code FROM posts ORDER BY published, id LIMIT 2 OFFSET ?",
            (max(0, count // 2 - 1),),
        ).fetchall()
    (path, code), (target, _) = rows[0], rows[-1]
    return {
        "permalink": path,
        "shortlink": f"s/{code}",
        "tag": "tag/tag1",
        "mention_target": target,
    }


def seed(count: int) -> Seed:
    """The cached data dir with `count` posts, seeding it first if there is none."""
    cached = CACHE / f"posts-{count}-{_schema_key()}"
    meta = cached / "bench.json"
    if not meta.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f"seeding-{count}-", dir=CACHE))
        began = time.perf_counter()
        print(f"seeding {count} posts into {cached} ...", file=sys.stderr, flush=True)
        asyncio.run(_fill(building, count))
        (building / "bench.json").write_text(json.dumps(_pages(building, count)))
        print(f"seeded in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        building.rename(cached)
    pages = json.loads(meta.read_text())
    return Seed(data_dir=cached, posts=count, **pages)


# --- processes -------------------------------------------------------------------------


@contextmanager
def process(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[int]:
    """Run `argv` (output to `log`) for the block; yields its pid; SIGTERM at the end."""
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own commands
            argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_200(url: str, log: Path, timeout: float = 120) -> float:
    """Seconds until `url` answers 200 (polled every 10 ms)."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return time.perf_counter() - began
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"{url} did not answer 200 in {timeout:g} s; log:\n{log.read_text()[-3000:]}")


def reference(kind: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, str(REFERENCE_APPS), kind, "--port", str(port), *extra]


def hearth_env(data_dir: Path, base: str) -> dict[str, str]:
    return {
        **os.environ,
        "HEARTH_DATA_DIR": str(data_dir),
        "HEARTH_URL": base,
        # The worker verifies webmentions against the fake source site on 127.0.0.1.
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "1",
        # Measure the endpoint, not its rate limits.
        "HEARTH_WEBMENTION_PER_HOST_PER_MINUTE": "100000000",
        "HEARTH_WEBMENTION_PER_MINUTE": "100000000",
        "HEARTH_WEBMENTION_MAX_QUEUED": "100000000",
        "HEARTH_WEBMENTION_FETCH_INTERVAL": "0",
    }


def hearth_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hearth.cli", *args]


def mint_token(env: dict[str, str]) -> str:
    out = subprocess.run(  # noqa: S603 - our own command
        hearth_cli("token", "create", "--scope", "create"),
        env=env, cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1]


# --- wrk -------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    # Counted by the Lua script of a write (2xx, other), when there is one.
    lua_2xx: int | None = None
    lua_other: int | None = None
    # CPU milliseconds the server process (all its threads) spent per answered request:
    # hardly moved by the machine's other load, unlike req/s.
    cpu_ms_per_request: float | None = None

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()  # type: ignore[union-attr]
    return float(value) * UNITS[unit]


def parse_wrk(out: str) -> WrkResult:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out)
        if match is None:
            raise ValueError(f"no {pattern!r} in wrk's output:\n{out}")
        return match

    percentile = {p: _ms(find(rf"\n\s+{p}%\s+(\S+)").group(1)) for p in (50, 75, 90, 99)}
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_ok = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lua_ok, lua_other = re.search(r"LUA_2XX (\d+)", out), re.search(r"LUA_OTHER (\d+)", out)
    return WrkResult(
        requests_per_s=float(find(r"Requests/sec:\s+([\d.]+)").group(1)),
        requests=int(find(r"(\d+) requests in").group(1)),
        p50_ms=percentile[50],
        p75_ms=percentile[75],
        p90_ms=percentile[90],
        p99_ms=percentile[99],
        non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
        lua_2xx=int(lua_ok.group(1)) if lua_ok else None,
        lua_other=int(lua_other.group(1)) if lua_other else None,
    )


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    seconds: float
    warmup: float


def wrk(
    url: str, load: Load, script: Path | None = None, *, warm: bool = True, pid: int | None = None
) -> WrkResult:
    """wrk against `url` (after `load.warmup` seconds of the same, unless `warm` is off)."""

    def run(seconds: float) -> str:
        argv = ["wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds:g}s",
                "--timeout", "30s", "--latency"]  # fmt: skip
        if script is not None:
            argv += ["-s", str(script)]
        return subprocess.run(  # noqa: S603 - wrk, from Debian
            [*argv, url], check=True, capture_output=True, text=True
        ).stdout

    if warm and load.warmup > 0:
        run(load.warmup)
    cpu_before = cpu_seconds(pid) if pid else 0.0
    result = parse_wrk(run(load.seconds))
    if pid and result.requests:
        result.cpu_ms_per_request = 1000 * (cpu_seconds(pid) - cpu_before) / result.requests
    return result


POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "%(form)s"
%(auth)s
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  ok = 0
  other = 0
end
function request()
  counter = counter + 1
  return wrk.format(nil, "%(path)s", nil, string.format("%(body)s", tid, counter))
end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + (t:get("ok") or 0)
    total_other = total_other + (t:get("other") or 0)
  end
  io.write(string.format("LUA_2XX %%d\\nLUA_OTHER %%d\\n", total_ok, total_other))
end
"""


def post_script(directory: Path, name: str, path: str, body: str, token: str | None) -> Path:
    """A wrk script POSTing `body` (a Lua format with two %d: thread, counter) to `path`."""
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = directory / f"{name}.lua"
    script.write_text(POST_SCRIPT % {"form": FORM, "auth": auth, "path": path, "body": body})
    return script


def note_body(nonce: str) -> str:
    return f"h=entry&content=Throughput+note+{nonce}-%d-%d&category=bench"


def mention_body(nonce: str, source_base: str, target: str) -> str:
    # Literal "%" doubled: the body is a Lua format.
    source = quote(f"{source_base}r/{nonce}-", safe="").replace("%", "%%")
    return f"source={source}%d-%d&target={quote(target, safe='').replace('%', '%%')}"


# --- the run ---------------------------------------------------------------------------


@dataclass
class Row:
    endpoint: str
    kind: str  # "read", "create", "webmention" or "reference"
    result: WrkResult
    reference: str | None = None  # the reference row's endpoint

    @property
    def target(self) -> float | None:
        return {"read": READ_TARGET, "create": CREATE_TARGET, "webmention": WEBMENTION_TARGET}.get(
            self.kind
        )


@dataclass
class Report:
    posts: int
    load: Load
    startup: list[Startup]
    code: str = field(default_factory=lambda: code_version())
    rows: list[Row] = field(default_factory=list)
    writes: dict[str, object] = field(default_factory=dict)

    def rps(self, endpoint: str) -> float:
        return next(r.result.requests_per_s for r in self.rows if r.endpoint == endpoint)


READS = [
    ("home h-feed", ""),
    ("permalink", "{permalink}"),
    ("tag page", "{tag}"),
    ("short link (301)", "{shortlink}"),
    ("Atom feed", "feed.atom"),
    ("RSS feed", "feed.rss"),
    ("JSON feed", "feed.json"),
]
HELLO, INSERT = "reference: Starlette hello", "reference: Starlette + SQLite INSERT"


@dataclass(frozen=True)
class Startup:
    """One start of `hearth serve`: wall seconds to the first 200 on /, and the CPU seconds
    the process used meanwhile (user + system: what the machine's other load hardly moves)."""

    wall_s: float
    cpu_s: float
    # Seconds its main thread was runnable but waiting for a CPU (Linux schedstat): the
    # machine's other load, not Hearth.
    runqueue_s: float


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_seconds(pid: int) -> float:
    """Seconds the main thread of `pid` has waited on a run queue (0 without schedstat)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def measure_startup(seed_dir: Path, work: Path, runs: int) -> list[Startup]:
    """Start `hearth serve` on a fresh copy of the seed `runs` times; time each start."""
    times = []
    for n in range(runs):
        data_dir = work / f"startup-{n}"
        shutil.copytree(seed_dir, data_dir)
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        log = work / f"startup-{n}.log"
        began = time.perf_counter()
        argv = hearth_cli("serve", "--port", str(port))
        with process(argv, log, hearth_env(data_dir, base)) as pid:
            wait_for_200(base, log)
            wall = time.perf_counter() - began
            times.append(Startup(wall, cpu_seconds(pid), runqueue_seconds(pid)))
        shutil.rmtree(data_dir)
    return times


@dataclass
class Target:
    """The running `hearth serve` and what the load needs to know of it."""

    base: str
    pid: int
    seeded: Seed
    token: str
    nonce: str
    work: Path
    profile_dir: Path | None


@contextmanager
def profiled(target: Target, name: str, seconds: float) -> Iterator[None]:
    """py-spy samples `hearth serve` during the block (when `--profile DIR` is given)."""
    if target.profile_dir is None:
        yield
        return
    out = target.profile_dir / f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.txt"
    argv = ["py-spy", "record", "--pid", str(target.pid), "--duration", str(int(seconds) + 1),
            "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(out)]  # fmt: skip
    spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        yield
    finally:
        spy.wait()


def measure(
    target: Target,
    name: str,
    kind: str,
    load: Load,
    *,
    url: str | None = None,
    script: Path | None = None,
) -> Row:
    """One Hearth endpoint under wrk: reads GET `url` after a warm-up, writes run `script`."""
    warm = script is None
    with profiled(target, name, load.seconds + (load.warmup if warm else 0)):
        result = wrk(url or target.base, load, script, warm=warm, pid=target.pid)
    print(f"  {name}: {result.requests_per_s:,.0f}/s", file=sys.stderr, flush=True)
    return Row(name, kind, result, HELLO if kind == "read" else INSERT)


def measure_reads(target: Target, load: Load, ref_port: int) -> list[Row]:
    work = target.work
    with process(reference("hello", ref_port), work / "hello.log") as pid:
        wait_for_200(f"http://127.0.0.1:{ref_port}/", work / "hello.log")
        rows = [Row(HELLO, "reference", wrk(f"http://127.0.0.1:{ref_port}/", load, pid=pid))]
    for name, path in READS:
        url = target.base + path.format(**asdict(target.seeded))
        rows.append(measure(target, name, "read", load, url=url))
    return rows


def measure_writes(target: Target, load: Load, ref_port: int, source: str) -> list[Row]:
    """The INSERT reference, Micropub creates, webmentions from the fake site at `source`."""
    work, nonce = target.work, target.nonce
    argv = reference("insert", ref_port, "--db", str(work / "ref.db"))
    with process(argv, work / "ref.log") as pid:
        _wait_for_port(ref_port)
        script = post_script(work, "insert", "/notes", note_body(nonce), None)
        ref = f"http://127.0.0.1:{ref_port}/"
        rows = [Row(INSERT, "reference", wrk(ref, load, script, warm=False, pid=pid))]
    script = post_script(work, "create", "/micropub", note_body(nonce), target.token)
    rows.append(measure(target, "Micropub create", "create", load, script=script))
    body = mention_body(nonce, source, target.base + target.seeded.mention_target)
    script = post_script(work, "webmention", "/webmention", body, None)
    rows.append(measure(target, "webmention received", "webmention", load, script=script))
    return rows


def run(
    seeded: Seed, load: Load, work: Path, startup_runs: int, drain: float, profile: Path | None
) -> Report:
    # Start-up first, on fresh copies, then the one copy the load runs on.
    startup = measure_startup(seeded.data_dir, work, startup_runs)
    data_dir = work / "data"
    shutil.copytree(seeded.data_dir, data_dir)
    port, ref_port, source_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}/"
    env = hearth_env(data_dir, base)
    report = Report(posts=seeded.posts, load=load, startup=startup)
    log = work / "serve.log"
    token = mint_token(env)
    with process(hearth_cli("serve", "--port", str(port)), log, env) as pid:
        wait_for_200(base, log)
        print(f"hearth serve pid {pid} on {base}", file=sys.stderr, flush=True)
        target = Target(base, pid, seeded, token, secrets.token_hex(4), work, profile)
        report.rows += measure_reads(target, load, ref_port)
        argv = reference("source", source_port, "--target", base + seeded.mention_target)
        with process(argv, work / "source.log"):
            _wait_for_port(source_port)
            source = f"http://127.0.0.1:{source_port}/"
            report.rows += measure_writes(target, load, ref_port, source)
            created, mentioned = (r.result for r in report.rows[-2:])
            report.writes = check_writes(data_dir, target.nonce, created, mentioned, drain)
    report.writes["tracebacks in serve log"] = log.read_text(errors="replace").count("Traceback")
    return report


def _wait_for_port(port: int, timeout: float = 30) -> None:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on port {port}")


def check_writes(
    data_dir: Path, nonce: str, created: WrkResult, mentioned: WrkResult, drain: float
) -> dict[str, object]:
    """Posts on the site against 201s; webmentions verified (after draining) against 201s."""

    def query(sql: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(data_dir / DB_FILE, timeout=30) as conn:
            return conn.execute(sql, args).fetchall()

    posts = query(
        "SELECT COUNT(*) FROM posts WHERE properties LIKE ?", f"%Throughput note {nonce}-%"
    )
    deadline = time.monotonic() + drain
    began = time.monotonic()
    while time.monotonic() < deadline:
        (waiting,) = query(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'webmention.verify' "
            "AND state IN ('queued', 'running')"
        )[0]
        if not waiting:
            break
        time.sleep(1)
    states: dict[str, int] = dict(query(
        "SELECT state, COUNT(*) FROM responses WHERE source LIKE ? GROUP BY state",
        f"%/r/{nonce}-%",
    ))  # fmt: skip
    return {
        "Micropub creates answered 2xx (counted by wrk)": created.lua_2xx,
        "posts on the site with a bench body": posts[0][0],
        "webmentions answered 2xx (counted by wrk)": mentioned.lua_2xx,
        "webmentions stored, by state after draining": states,
        "seconds the verifications took to drain after the load": round(
            time.monotonic() - began, 1
        ),
    }


def code_version() -> str:
    """The measured checkout: its commit and whether it has changes, or just its path."""
    try:
        described = subprocess.run(  # noqa: S603 - git
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],  # noqa: S607
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return str(REPO)
    return f"{REPO} at {described}"


# --- output ----------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(report: Report) -> str:
    head = (
        "| endpoint | reference req/s | Hearth req/s | p50 ms | p99 ms | ratio | target "
        "| CPU ms/req (ref) | CPU ratio | non-2xx/3xx | socket errors |"
    )
    lines = [head, "|" + "---|" * 11]
    for row in report.rows:
        r = row.result
        errors = str(sum(r.socket_errors.values()))
        cpu = _num(r.cpu_ms_per_request)
        if row.reference is None:
            cells = [row.endpoint, f"{r.requests_per_s:,.0f}", "", _num(r.p50_ms), _num(r.p99_ms),
                     "", "", cpu, "", str(r.non_2xx_3xx), errors]  # fmt: skip
        else:
            ref = next(x.result for x in report.rows if x.endpoint == row.reference)
            ratio = r.requests_per_s / ref.requests_per_s if ref.requests_per_s else 0.0
            mark = "ok" if row.target is not None and ratio >= row.target else "below"
            cpu_ratio = (
                f"{ref.cpu_ms_per_request / r.cpu_ms_per_request:.3f}"
                if ref.cpu_ms_per_request and r.cpu_ms_per_request
                else ""
            )
            cells = [row.endpoint, f"{ref.requests_per_s:,.0f}", f"{r.requests_per_s:,.0f}",
                     _num(r.p50_ms), _num(r.p99_ms), f"{ratio:.3f}", f"{row.target}x ({mark})",
                     f"{cpu} ({_num(ref.cpu_ms_per_request)})", cpu_ratio,
                     str(r.non_2xx_3xx), errors]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s" if values else "-"


def summary(report: Report) -> str:
    load = report.load
    wall = [s.wall_s for s in report.startup]
    cpu = [s.cpu_s for s in report.startup]
    waited = [s.runqueue_s for s in report.startup]
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"code: {report.code}",
        f"posts={report.posts}, wrk -t{load.threads} -c{load.connections} -d{load.seconds:g}s "
        f"(after {load.warmup:g} s of warm-up for reads), {os.cpu_count()} CPUs, "
        f"load average at the end {load_avg}",
        f"hearth serve start-up (process start to first 200 on /): median {median(wall)} "
        f"wall ({', '.join(f'{x:.2f}' for x in wall)}), {median(cpu)} CPU "
        f"({', '.join(f'{x:.2f}' for x in cpu)}), {median(waited)} waiting for a CPU "
        f"({', '.join(f'{x:.2f}' for x in waited)})",
    ]
    if report.rows:
        lines += ["", table(report), ""]
        lines += [f"- {k}: {v}" for k, v in report.writes.items()]
        lines.append(
            "  (wrk stops with up to one request in flight per connection, which the server "
            "may still carry out: a few more stored than 2xx counted is no loss)"
        )
    return "\n".join(lines)


# py-spy frames that are waiting, not working: the aiosqlite thread's `tx.get()`, selectors.
IDLE = ("_connection_worker_thread (aiosqlite/core.py:59)", "select (selectors.py")
# Wrappers around every request: inclusive shares of ~100% that tell nothing.
WRAPPERS = ("body_limit.py", "disconnects.py", "cors.py", "/cli.py")


@dataclass
class Profile:
    """Where `hearth serve`'s busy samples went during one endpoint's load."""

    sqlite_thread: float  # share in the aiosqlite thread (SQLite itself, and sqlite3)
    event_loop: float  # share in uvloop/httptools C code (no Python frame above Runner.run)
    self_time: list[tuple[str, float]]
    hearth_inclusive: list[tuple[str, float]]


def read_profile(stacks: Path, count: int = 8) -> Profile:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = sqlite = loop = 0
    for line in stacks.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames, n = stack.split(";"), int(samples)
        if any(idle in frames[-1] for idle in IDLE):
            continue
        total += n
        own[frames[-1]] += n
        sqlite += n if any("_connection_worker_thread" in f for f in frames) else 0
        loop += n if frames[-1].startswith("Runner.run (") else 0
        for frame in set(frames):
            if "hearth/" in frame and not any(w in frame for w in WRAPPERS):
                inclusive[frame] += n
    total = max(total, 1)
    return Profile(
        sqlite_thread=sqlite / total,
        event_loop=loop / total,
        self_time=[(f, n / total) for f, n in own.most_common(count)],
        hearth_inclusive=[(f, n / total) for f, n in inclusive.most_common(count)],
    )


def profile_summary(directory: Path) -> str:
    lines = [f"\npy-spy of hearth serve (collapsed stacks in {directory}; busy samples only):"]
    for stacks in sorted(directory.glob("*.txt")):
        if not stacks.stat().st_size:
            continue
        profile = read_profile(stacks)
        lines.append(
            f"\n{stacks.stem}: {profile.sqlite_thread:.0%} in the SQLite thread, "
            f"{profile.event_loop:.0%} in the event loop's C code; self time:"
        )
        lines += [f"  {share:5.1%} {frame}" for frame, share in profile.self_time]
        lines.append("  Hearth's frames, inclusive:")
        lines += [f"  {share:5.1%} {frame}" for frame, share in profile.hearth_inclusive]
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, object]:
    data = asdict(report)
    for row, out in zip(report.rows, data["rows"], strict=True):
        if row.reference is not None:
            out["ratio"] = row.result.requests_per_s / report.rps(row.reference)
            out["target"] = row.target
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10000, help="posts to seed (10000)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--seconds", type=float, default=10, help="seconds per endpoint (10)")
    parser.add_argument("--warmup", type=float, default=1, help="warm-up seconds per read (1)")
    parser.add_argument("--startup-runs", type=int, default=3, help="start-ups timed (3)")
    parser.add_argument("--startup-only", action="store_true", help="time the start-up only")
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait for jobs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy hearth serve during each endpoint; collapsed stacks into DIR",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's data dir and logs")
    args = parser.parse_args()
    seeded = seed(args.posts)
    load = Load(args.threads, args.connections, args.seconds, args.warmup)
    work = Path(tempfile.mkdtemp(prefix="hearth-throughput-"))
    try:
        if args.startup_only:
            report = Report(
                args.posts, load, measure_startup(seeded.data_dir, work, args.startup_runs)
            )
        else:
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
            report = run(seeded, load, work, args.startup_runs, args.drain, args.profile)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(summary(report))
    if args.profile:
        print(profile_summary(args.profile))
    if args.json:
        args.json.write_text(json.dumps(as_json(report), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
