"""The durable job queue behind Hearth's outbound work: webmentions, WebSub, syndication, imports.

A job is a row in `jobs` (`hearth.server.core.models.Job`). Its life:

    enqueue -> QUEUED --claim--> RUNNING --complete--> DONE
                 ^                  |  \\--fail (attempts left)--> QUEUED, run_at = now + backoff
                 |                  |   \\-fail (none left, or permanent)--> DEAD, last_error kept
                 +----release-------+    (lease expired: a crashed worker's job is claimed again)
                 +----postpone------+    (not now: wait, the attempt not counted)
                 +----take back-----+    (its worker's process is provably gone: claimed again now)

* `enqueue` is idempotent on `key`: the same effect is never queued twice. A key whose job is
  DONE or DEAD is *not* queued again (the effect happened, or we gave up on it); a caller that
  wants a new effect must use a new key, e.g. one that includes the post's update time.
  `revive` is the one way back from DEAD: it requeues jobs that died of a cause since cured.
* `claim_many` leases up to n due jobs to one worker for `lease_seconds` in one statement
  (`WITH picked AS MATERIALIZED (SELECT ... LIMIT n) UPDATE jobs ... RETURNING ...`), so a
  worker with n free slots pays one round trip and one commit for n jobs; `claim` is the
  same for one job. On PostgreSQL the SELECT locks its rows `FOR UPDATE SKIP LOCKED`, so
  parallel workers pass over each other's rows instead of queueing behind them; on SQLite
  the statement runs under the database's single write lock, so two claimers never see the
  same row as due. Everywhere the UPDATE checks again that each row is claimable, a
  compare-and-set.
* `complete_many` records several successes in one statement (one commit), and
  `extend_leases` renews several leases so; `complete` and `extend_lease` are the same for
  one job. Each row is still fenced by its own lease (below): the batch returns which jobs
  it changed, and a job whose lease was lost is left alone while the others are recorded.
* `enqueue` (and anything that makes a job due again: a retry, a postponement, a release,
  `revive`) wakes the workers of this process that wait on `wake_on_enqueue`, so an idle
  `hearth serve` runs a job it queued at once instead of at its next look at the database.
  `next_due` tells an idle worker when the earliest job comes due, so it sleeps until then
  instead of polling.
* `postpone` is for "not now, try again at T; this was not an attempt": a handler raises
  `Postpone` when the job waits on something outside it that ends by itself (a silo
  account's rate-limit pause), so waiting never uses up `max_attempts`. The job runs at a
  random moment in a short window after T (`postpone_delay`), so the many jobs waiting on the
  same pause do not all start at once and trip it again. `last_error` says "postponed since
  ..." (the time is kept in `postponed_since`), so the wait shows on the dashboard; a job
  postponed without a break for longer than `POSTPONE_LIMIT` (a handler that postpones by
  mistake) has its attempts counted again and ends DEAD like any failing job.
* A lease also records the process that holds it (`lease_process`, a `ProcessId`: host name,
  pid, and that run's start: boot id, pid namespace and start time). A claim first takes
  back the jobs of a holder on its own host that is provably gone (`process_gone`: no such
  pid, a zombie, or the pid now names a later process), so a worker killed with `kill -9`
  holds up its job only until the next worker on that host polls, not for the whole lease.
  A holder that is alive, however slow, keeps its lease; one on another host (or where the
  start cannot be read: not Linux) is judged by its lease alone, since its pid means
  nothing here. The taken-back attempt stays counted, as when a lease runs out.
* `complete`, `fail`, `release`, `postpone` and `extend_lease` (and their batch forms) only
  act while the caller still holds the lease; they return False otherwise. The lease owner
  plus the attempt number form a fencing token: a worker whose lease expired and was taken
  over cannot clobber the new owner's state.

Delivery is at least once: a worker that dies after its side effect but before `complete` runs
the job again once the lease expires or its process is seen gone, so handlers must tolerate
repeats. Leases compare the workers' own clocks, so hosts sharing a database must keep them
in sync (NTP) to well within the lease time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from hearth.server.core.models import Job, JobState

# Retry delays: base * 2**(attempt-1), capped. 30 s, 1 min, 2 min, ... up to about an hour in
# total over the default 8 attempts, which rides out a typical outage of a receiving site.
# The worker passes `HEARTH_JOB_BACKOFF_SECONDS` as the base (this is its default).
BACKOFF_BASE = 30.0
BACKOFF_CAP = 6 * 3600.0
# A remote Retry-After is honoured, but a hostile or broken server must not park a job forever.
RETRY_AFTER_CAP = 24 * 3600.0
# Errors are kept for the admin dashboard; an HTML error page must not bloat the row.
MAX_ERROR_CHARS = 4000
# Most jobs one statement completes or renews (SQLite allows 32766 parameters; this stays
# far below, and keeps each statement short).
MAX_BATCH = 200
# A postponed job starts at a random moment in a window after its time: a tenth of the wait,
# at least a few seconds (short waits still spread) and at most five minutes (long ones
# still start soon after they end).
POSTPONE_SPREAD = 0.1
POSTPONE_SPREAD_MIN = 5.0
POSTPONE_SPREAD_MAX = 300.0
# Waits that postpone a job end within hours (a rate-limit window); a job postponed without a
# break for longer than this is caught in a loop, so its postponements count as attempts.
POSTPONE_LIMIT = timedelta(days=7)
# Where a process's start cannot be read (not Linux): its leases are judged by time alone.
UNKNOWN_START = "-"

log = logging.getLogger(__name__)


class Retry(Exception):
    """Raised by a handler to try again later, after `retry_after` seconds if given."""

    def __init__(self, message: str = "retry requested", *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Postpone(Retry):
    """Raised by a handler for "not now": run again after `retry_after` seconds (plus a short
    random spread) without counting this attempt. Only for waits that end by themselves."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, retry_after=retry_after)
        self.delay = retry_after


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (e.g. a 404 target): the job goes DEAD."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime:
    # SQLite stores datetimes as ISO text and compares them as text, which is only
    # chronological when every value has the same offset; so everything is stored in UTC.
    if value is None:
        return utcnow()
    if value.tzinfo is None:
        raise ValueError("job times must be timezone-aware")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class ProcessId:
    """One run of one process, as a lease records it: `"host pid start"`.

    `start` is `boot_id:pid_namespace:start_ticks` (Linux, from /proc): together with the pid
    it names this run alone, so a pid reused by a later process, a reboot or another container
    (another pid namespace) is never taken for it. `UNKNOWN_START` where it cannot be read.
    """

    host: str
    pid: int
    start: str = UNKNOWN_START

    def __str__(self) -> str:
        return f"{self.host} {self.pid} {self.start}"

    @classmethod
    def parse(cls, text: str | None) -> ProcessId | None:
        parts = (text or "").split(" ")
        if len(parts) != 3 or not parts[1].isdigit() or not all(parts):
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    @property
    def machine(self) -> str | None:
        """Boot id and pid namespace: where this pid means this process; None if unknown."""
        machine, _, ticks = self.start.rpartition(":")
        return machine if machine and ticks else None


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as file:
            return file.read().strip()
    except (OSError, ValueError):
        return None


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of `pid` from /proc, or None."""
    stat = _read_text(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
    fields = stat.rpartition(")")[2].split()
    return (fields[0], fields[19]) if len(fields) > 19 else None


def _machine() -> str | None:
    boot = _read_text("/proc/sys/kernel/random/boot_id")
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return None
    inode = namespace.partition("[")[2].rstrip("]")
    return f"{boot}:{inode}" if boot and inode.isdigit() else None


_this: ProcessId | None = None


def this_process() -> ProcessId:
    """This process's `ProcessId` (read once per process; a forked child reads its own)."""
    global _this
    if _this is None or _this.pid != os.getpid():
        pid = os.getpid()
        machine, stat = _machine(), _proc_stat(pid)
        start = f"{machine}:{stat[1]}" if machine and stat else UNKNOWN_START
        _this = ProcessId(socket.gethostname(), pid, start)
    return _this


def process_gone(holder: ProcessId, here: ProcessId | None = None) -> bool:
    """True only if `holder` is provably not running: it ran on this host (same host name,
    boot and pid namespace as `here`, default this process) and its pid is free now, a
    zombie, or another process's. False whenever that cannot be known."""
    here = here or this_process()
    if holder.host != here.host or holder.machine is None or holder.machine != here.machine:
        return False
    if holder == here:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's process) or we cannot tell
    stat = _proc_stat(holder.pid)
    if stat is None:
        return False  # hidden from us (hidepid), or gone this instant: wait for the lease
    state, ticks = stat
    return state in ("Z", "X") or holder.start != f"{here.machine}:{ticks}"


def holder_gone(lease_process: str | None, here: ProcessId | None = None) -> bool:
    """`process_gone` for a recorded `str(ProcessId)` (e.g. a job's `lease_process`); False
    for None or text that is not one."""
    holder = ProcessId.parse(lease_process)
    return holder is not None and process_gone(holder, here)


def backoff_delay(attempts: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after failed attempt number `attempts` (1-based).

    "Equal jitter": a random point in the upper half of the exponential step. Jitter keeps jobs
    that failed together (a site was down) from retrying in lockstep; keeping the lower half
    out means each retry still waits longer than the one before.
    """
    ceiling = min(cap, base * 2.0 ** min(max(attempts, 1) - 1, 32))
    return ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not a secret


def next_slot(after: datetime, period_seconds: float) -> tuple[int, datetime]:
    """The first boundary of `period_seconds`-long slots after `after`: its number and time.

    For self-scheduling jobs: keyed by the slot number, a job queued for the next slot by
    several runs at once is queued once.
    """
    period = max(int(period_seconds), 1)
    slot = int(after.timestamp()) // period + 1
    return slot, datetime.fromtimestamp(slot * period, UTC)


# The events of this process's idle workers (`wake_on_enqueue`), set when a job may be due.
_waiting: set[asyncio.Event] = set()


@contextmanager
def wake_on_enqueue(event: asyncio.Event) -> Iterator[asyncio.Event]:
    """Set `event` while the block runs whenever this process queues a job or makes one due
    again (a retry, a postponement, a release, `revive`): a worker waits on it instead of
    polling. Inside a caller's transaction the job may not be committed yet when the event
    is set; the worker then finds it at its next look, soon after (see `job_worker`)."""
    _waiting.add(event)
    try:
        yield event
    finally:
        _waiting.discard(event)


def announce() -> None:
    """Wake this process's idle workers: a job was queued (`enqueue` does it itself; a
    caller that inserted jobs with `insert_statement` calls it after its commit)."""
    for event in tuple(_waiting):
        event.set()


def insert_statement(
    kind: str,
    payload: dict[str, Any],
    *,
    key: str,
    now: datetime | None = None,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> tuple[str, tuple[Any, ...]]:
    """The INSERT of a new queued job (due at `run_at`, default `now`), for a `core.one_trip`
    unit: the caller's key must be new (unlike `enqueue`, an existing key is an
    IntegrityError, not a lookup)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = _utc(now)
    due = now if run_at is None else _utc(run_at)
    sql = (
        "INSERT INTO jobs (kind, payload, idempotency_key, state, attempts, max_attempts,"
        " run_at, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)"
    )
    values = (kind, json.dumps(payload), key, JobState.QUEUED.value, max_attempts, due, now, now)
    return sql, values


async def enqueue(
    kind: str,
    payload: dict[str, Any],
    *,
    key: str,
    run_at: datetime | None = None,
    max_attempts: int = 8,
) -> Job:
    """Queue `kind` with `payload` unless a job with idempotency `key` exists; return the job.

    An existing job is returned unchanged whatever its state: the first enqueue wins, and a
    DONE or DEAD job is not revived. Use a new key for a new effect. `payload` must be JSON and
    may hold secrets: it is never logged.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    existing = await Job.get_or_none(idempotency_key=key)
    if existing is not None:
        return existing
    try:
        # A savepoint when the caller is inside a transaction: on PostgreSQL a failed INSERT
        # would otherwise abort the caller's whole transaction along with our lookup below.
        async with in_transaction():
            job = await Job.create(
                kind=kind,
                payload=payload,
                idempotency_key=key,
                run_at=_utc(run_at),
                max_attempts=max_attempts,
            )
        announce()
        return job
    except IntegrityError:
        # Another enqueue of the same key won the race between our lookup and insert.
        existing = await Job.get_or_none(idempotency_key=key)
        if existing is None:
            raise
        return existing


async def take_back(
    kinds: Collection[str] | None = None,
    *,
    process: ProcessId | None = None,
    now: datetime | None = None,
) -> int:
    """End now the leases of running jobs (of `kinds`, or any) whose holder is provably gone
    (`process_gone`, judged from `process`, default this one), so they are claimable at
    once; returns how many. Each is a compare-and-set on the lease as read, so a job that
    changed hands meanwhile is left alone."""
    here = process or this_process()
    if here.machine is None or (kinds is not None and not kinds):
        return 0
    now = _utc(now)
    held = Job.filter(
        state=JobState.RUNNING,
        lease_expires_at__gte=now,
        lease_process__startswith=f"{here.host} ",
    )
    if kinds is not None:
        held = held.filter(kind__in=list(kinds))
    rows = await held.values("id", "kind", "attempts", "lease_owner", "lease_process")
    gone: dict[str, bool] = {}
    taken = 0
    for row in rows:
        holder = row["lease_process"]
        if holder not in gone:
            gone[holder] = holder_gone(holder, here)
        if not gone[holder]:
            continue
        ended = await Job.filter(
            id=row["id"],
            state=JobState.RUNNING,
            attempts=row["attempts"],
            lease_owner=row["lease_owner"],
            lease_process=holder,
        ).update(lease_expires_at=now - timedelta(seconds=1), updated_at=now)
        if ended:
            taken += 1
            log.warning(
                "job %s (%s): its worker %s (process %s) is gone; taken back",
                row["id"], row["kind"], row["lease_owner"], holder,
            )  # fmt: skip
    return taken


async def claim(
    worker_id: str,
    kinds: Collection[str] | None,
    lease_seconds: float,
    now: datetime | None = None,
    *,
    process: ProcessId | None = None,
    take_back_first: bool = True,
) -> Job | None:
    """Lease the next due job (of one of `kinds`, or any kind) to `worker_id`, or None.

    `claim_many` for one job: see there."""
    jobs = await claim_many(
        worker_id,
        kinds,
        lease_seconds,
        1,
        now,
        process=process,
        take_back_first=take_back_first,
    )
    return jobs[0] if jobs else None


async def claim_many(
    worker_id: str,
    kinds: Collection[str] | None,
    lease_seconds: float,
    limit: int,
    now: datetime | None = None,
    *,
    process: ProcessId | None = None,
    take_back_first: bool = True,
) -> list[Job]:
    """Lease up to `limit` due jobs (of one of `kinds`, or any kind) to `worker_id`, earliest
    `run_at` first; [] if none is due.

    The leases record `process` (default this one) as their holder. Unless `take_back_first`
    is False, the jobs of provably dead holders on this host are taken back first
    (`take_back`). The returned jobs have `attempts` already counted. A job whose lease ran
    out on its last attempt (its worker kept dying) goes DEAD here instead of running yet
    again, and another due job is claimed in its place.
    """
    now = _utc(now)
    if limit < 1 or (kinds is not None and not kinds):
        return []
    process = process or this_process()
    if take_back_first:
        await take_back(kinds, process=process, now=now)
    claimed: list[Job] = []
    while len(claimed) < limit:
        wanted = limit - len(claimed)
        jobs = await _claim_rows(worker_id, kinds, lease_seconds, wanted, now, process)
        exhausted = [job for job in jobs if job.attempts > job.max_attempts]
        claimed += [job for job in jobs if job.attempts <= job.max_attempts]
        for job in exhausted:
            error = "lease expired on the last attempt: the worker died or hung"
            await fail(job, worker_id, error, permanent=True, now=now)
        if len(jobs) < wanted or not exhausted:
            break  # the queue has no more due jobs, or we have all we asked for
    return sorted(claimed, key=lambda job: (job.run_at, job.id))


# The hot path (claiming, completing, renewing, looking for the next due job) is raw SQL on
# the model's connection: one statement each, without building a model query per call. Only
# placeholders, column names and JobState values are put into the text; values are bound.


class _Params:
    """Positional parameters for raw SQL in the connection's own style (`?` or `$n`)."""

    def __init__(self, dialect: str) -> None:
        self.numbered = dialect == "postgres"
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.numbered else "?"

    def each(self, values: Iterable[Any]) -> str:
        return ", ".join(self(value) for value in values)


def _db() -> BaseDBAsyncClient:
    # The model's connection: the caller's open transaction, if there is one.
    db: BaseDBAsyncClient = Job._meta.db
    return db


def _columns() -> str:
    return ", ".join(Job._meta.db_fields)


def _claimable_sql(p: _Params, now: datetime, kinds: Collection[str] | None) -> str:
    """Due queued jobs, and running jobs whose worker stopped renewing its lease (SQL)."""
    due = (
        f"((state = '{JobState.QUEUED.value}' AND run_at <= {p(now)})"
        f" OR (state = '{JobState.RUNNING.value}' AND lease_expires_at < {p(now)}))"
    )
    return due if kinds is None else f"{due} AND kind IN ({p.each(sorted(kinds))})"


def _earliest_sqlite(p: _Params, now: datetime, kinds: Collection[str] | None, limit: int) -> str:
    """SQLite: the ids of the `limit` earliest claimable jobs, each kind of claimable read
    from its own index. With the two conditions ORed in one WHERE, SQLite gathered every due
    job and sorted them all to take a few: 3 ms a claim with 30,000 waiting, where this reads
    `limit` index entries of each (0.01 ms)."""

    def earliest(condition: str) -> str:
        of_kinds = "" if kinds is None else f" AND kind IN ({p.each(sorted(kinds))})"
        return (
            f"SELECT id, run_at FROM (SELECT id, run_at FROM jobs WHERE {condition}{of_kinds}"  # noqa: S608
            f" ORDER BY run_at, id LIMIT {p(limit)})"
        )

    queued = earliest(f"state = '{JobState.QUEUED.value}' AND run_at <= {p(now)}")
    lapsed = earliest(f"state = '{JobState.RUNNING.value}' AND lease_expires_at < {p(now)}")
    return f"SELECT id FROM ({queued} UNION ALL {lapsed} ORDER BY run_at, id LIMIT {p(limit)})"  # noqa: S608


async def _claim_rows(
    worker_id: str,
    kinds: Collection[str] | None,
    lease_seconds: float,
    limit: int,
    now: datetime,
    process: ProcessId,
) -> list[Job]:
    """One UPDATE ... RETURNING that leases up to `limit` claimable rows.

    The SELECT in the WITH picks the rows, once: a materialized CTE, because PostgreSQL may
    run a LIMIT subquery under `IN (...)` more than once and so lease more than `limit`
    rows. The UPDATE checks each row again (a compare-and-set), so a row that stopped being
    claimable in between is not taken. On SQLite the statement holds the write lock from
    the SELECT to the commit; on PostgreSQL the SELECT locks its rows and skips rows another
    claimer has locked (`SKIP LOCKED`).
    """
    db = _db()
    p = _Params(db.capabilities.dialect)
    # Parameters are numbered in the order they are made: build the text from left to right.
    if db.capabilities.dialect == "sqlite":
        picked = f"WITH picked AS MATERIALIZED ({_earliest_sqlite(p, now, kinds, limit)})"
    else:
        picked = (
            f"WITH picked AS MATERIALIZED (SELECT id FROM jobs"  # noqa: S608
            f" WHERE {_claimable_sql(p, now, kinds)} ORDER BY run_at, id LIMIT {p(limit)}"
            " FOR UPDATE SKIP LOCKED)"
        )
    assignments = (
        f"state = '{JobState.RUNNING.value}', attempts = attempts + 1,"
        f" lease_owner = {p(worker_id)}, lease_process = {p(str(process))},"
        f" lease_expires_at = {p(now + timedelta(seconds=lease_seconds))},"
        f" updated_at = {p(now)}"
    )
    query = (
        f"{picked} UPDATE jobs SET {assignments} WHERE id IN (SELECT id FROM picked)"  # noqa: S608
        f" AND {_claimable_sql(p, now, kinds)} RETURNING {_columns()}"
    )
    rows = await db.execute_query_dict(query, p.values)
    return [Job._init_from_db(**row) for row in rows]


async def _owned_many(jobs: Sequence[Job], worker_id: str, assignments: dict[str, Any]) -> set[int]:
    """Set `assignments` on each of `jobs` that `worker_id` still holds at its attempt, in
    one statement; the ids changed. The jobs' objects are updated to match."""
    if not jobs:
        return set()
    db = _db()
    p = _Params(db.capabilities.dialect)
    # Parameters are numbered in the order they are made: build the text from left to right.
    values = ", ".join(f"{column} = {p(value)}" for column, value in assignments.items())
    owner = p(worker_id)
    # Each row's own fencing token: this worker and this attempt.
    fenced = " OR ".join(f"(id = {p(job.id)} AND attempts = {p(job.attempts)})" for job in jobs)
    query = (
        f"UPDATE jobs SET {values} WHERE state = '{JobState.RUNNING.value}'"  # noqa: S608
        f" AND lease_owner = {owner} AND ({fenced}) RETURNING id"
    )
    changed = {int(row["id"]) for row in await db.execute_query_dict(query, p.values)}
    for job in jobs:
        if job.id in changed:
            job.update_from_dict(assignments)
    return changed


def _batches(jobs: Sequence[Job]) -> Iterable[Sequence[Job]]:
    # Bounds the statement's size (and SQLite's parameter count) whatever the caller passes.
    for start in range(0, len(jobs), MAX_BATCH):
        yield jobs[start : start + MAX_BATCH]


async def complete_many(
    jobs: Sequence[Job], worker_id: str, *, now: datetime | None = None
) -> set[int]:
    """Mark DONE each of `jobs` whose lease `worker_id` still holds, in one statement per
    `MAX_BATCH` jobs; returns the ids marked (the others' leases were lost)."""
    now = _utc(now)
    values: dict[str, Any] = {
        "state": JobState.DONE,
        "lease_owner": None,
        "lease_expires_at": None,
        "lease_process": None,
        "finished_at": now,
        "updated_at": now,
    }
    done: set[int] = set()
    for batch in _batches(jobs):
        done |= await _owned_many(batch, worker_id, values)
    return done


async def extend_leases(
    jobs: Sequence[Job], worker_id: str, lease_seconds: float, *, now: datetime | None = None
) -> set[int]:
    """Renew the leases `worker_id` still holds among `jobs`; returns their ids (a job not
    among them has lost its lease)."""
    now = _utc(now)
    values = {"lease_expires_at": now + timedelta(seconds=lease_seconds), "updated_at": now}
    held: set[int] = set()
    for batch in _batches(jobs):
        held |= await _owned_many(batch, worker_id, values)
    return held


async def next_due(kinds: Collection[str] | None = None) -> datetime | None:
    """When the earliest queued job (of `kinds`) comes due, or a running one's lease runs out
    (it is claimable then); None if there is neither. One read, no lock: for idle workers."""
    if kinds is not None and not kinds:
        return None
    db = _db()
    p = _Params(db.capabilities.dialect)

    def due(column: str, state: JobState) -> str:  # each use binds its own parameters
        only = "" if kinds is None else f" AND kind IN ({p.each(sorted(kinds))})"
        return f"SELECT MIN({column}) AS due FROM jobs WHERE state = '{state.value}'{only}"  # noqa: S608

    query = (
        f"{due('run_at', JobState.QUEUED)} UNION ALL {due('lease_expires_at', JobState.RUNNING)}"
    )
    field = Job._meta.fields_map["run_at"]
    rows = await db.execute_query_dict(query, p.values)
    times = [field.to_python_value(row["due"]) for row in rows]
    found = [_utc(t) for t in times if t is not None]
    return min(found, default=None)


async def _owned_update(
    job: Job, worker_id: str, values: dict[str, Any], *, uncount: bool = False
) -> bool:
    """Apply `values` only if `worker_id` still holds this attempt's lease."""
    extra = {"attempts": F("attempts") - 1} if uncount else {}
    changed = await Job.filter(
        id=job.id, state=JobState.RUNNING, lease_owner=worker_id, attempts=job.attempts
    ).update(**values, **extra)
    if changed:
        job.update_from_dict({**values, "attempts": job.attempts - int(uncount)})
        if values.get("state") == JobState.QUEUED:
            announce()  # a retry, a postponement or a release: due now or later
    return bool(changed)


async def extend_lease(
    job: Job, worker_id: str, lease_seconds: float, *, now: datetime | None = None
) -> bool:
    """Renew the lease of a job that is still running; False means the lease was lost."""
    return job.id in await extend_leases([job], worker_id, lease_seconds, now=now)


async def complete(job: Job, worker_id: str, *, now: datetime | None = None) -> bool:
    """Mark the job DONE."""
    return job.id in await complete_many([job], worker_id, now=now)


async def fail(
    job: Job,
    worker_id: str,
    error: str,
    retry_after: float | None = None,
    *,
    permanent: bool = False,
    backoff_base: float = BACKOFF_BASE,
    postponed: bool = False,
    now: datetime | None = None,
) -> bool:
    """Record a failed attempt: queue a retry after a backoff, or DEAD if none are left.

    `retry_after` (e.g. from an HTTP Retry-After header) replaces the computed backoff, whose
    first step is `backoff_base` seconds. A failure ends a run of postponements, unless it is
    one (`postponed`: `postpone` counting an attempt past POSTPONE_LIMIT).
    """
    now = _utc(now)
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_expires_at": None,
        "lease_process": None,
        "last_error": error[:MAX_ERROR_CHARS],
        "updated_at": now,
    }
    if not postponed:
        values["postponed_since"] = None
    if permanent or job.attempts >= job.max_attempts:
        values.update(state=JobState.DEAD, finished_at=now)
    else:
        if retry_after is None:
            delay = backoff_delay(job.attempts, base=backoff_base)
        else:
            delay = min(max(retry_after, 0.0), RETRY_AFTER_CAP)
        values.update(state=JobState.QUEUED, run_at=now + timedelta(seconds=delay))
    return await _owned_update(job, worker_id, values)


def postpone_delay(delay: float) -> float:
    """`delay` (within 0 and RETRY_AFTER_CAP) plus a random spread of POSTPONE_SPREAD of it,
    between POSTPONE_SPREAD_MIN and POSTPONE_SPREAD_MAX seconds."""
    delay = min(max(delay, 0.0), RETRY_AFTER_CAP)
    window = min(max(delay * POSTPONE_SPREAD, POSTPONE_SPREAD_MIN), POSTPONE_SPREAD_MAX)
    return delay + random.random() * window  # noqa: S311 - jitter, not a secret


async def postpone(
    job: Job, worker_id: str, reason: str, delay: float, *, now: datetime | None = None
) -> bool:
    """Queue the job again after `postpone_delay(delay)` seconds, the attempt not counted.

    `last_error` becomes "postponed since <first postponement>: <reason>"; the time carries
    over while the job keeps being postponed, and once it is older than POSTPONE_LIMIT the
    attempt is counted after all (`fail`), so a job cannot wait unseen forever.
    """
    now = _utc(now)
    since = _utc(job.postponed_since) if job.postponed_since else now
    error = f"postponed since {since.isoformat()}: {reason}"[:MAX_ERROR_CHARS]
    wait = postpone_delay(delay)
    if now - since > POSTPONE_LIMIT:
        return await fail(job, worker_id, error, retry_after=wait, now=now, postponed=True)
    values: dict[str, Any] = {
        "state": JobState.QUEUED,
        "lease_owner": None,
        "lease_expires_at": None,
        "lease_process": None,
        "last_error": error,
        "postponed_since": since,
        "run_at": now + timedelta(seconds=wait),
        "updated_at": now,
    }
    return await _owned_update(job, worker_id, values, uncount=True)


async def release(job: Job, worker_id: str, *, now: datetime | None = None) -> bool:
    """Give a claimed job back untried (worker shutdown): due again, the attempt not counted."""
    values: dict[str, Any] = {
        "state": JobState.QUEUED,
        "lease_owner": None,
        "lease_expires_at": None,
        "lease_process": None,
        "updated_at": _utc(now),
    }
    return await _owned_update(job, worker_id, values, uncount=True)


async def revive(kind_prefix: str, error_contains: str, *, now: datetime | None = None) -> int:
    """Queue again the DEAD jobs of kinds starting `kind_prefix` whose last error holds
    `error_contains`; returns how many.

    For failures a later event cures (a silo's token that is replaced, say): the jobs run
    now with their attempts reset, as if new. One UPDATE, so a job is revived once however
    many callers race; jobs that died for other reasons, or are not DEAD, are left alone.
    """
    if not kind_prefix or not error_contains:
        raise ValueError("revive needs a kind prefix and an error text")
    now = _utc(now)
    dead = Job.filter(
        state=JobState.DEAD, kind__startswith=kind_prefix, last_error__contains=error_contains
    )
    revived = await dead.update(
        state=JobState.QUEUED,
        run_at=now,
        attempts=0,
        lease_owner=None,
        lease_expires_at=None,
        lease_process=None,
        finished_at=None,
        last_error=None,
        updated_at=now,
    )
    if revived:
        announce()
    return revived


async def job_counts() -> dict[str, int]:
    """Number of jobs in each state, every state present (the admin dashboard)."""
    counts = {state.value: 0 for state in JobState}
    rows = await Job.annotate(n=Count("id")).group_by("state").values("state", "n")
    for row in rows:
        counts[JobState(row["state"]).value] = row["n"]
    return counts


async def recent_failures(limit: int = 20) -> list[Job]:
    """Dead jobs and jobs being retried (not yet DONE), most recently failed first."""
    failed = Job.filter(last_error__isnull=False).exclude(state=JobState.DONE)
    return await failed.order_by("-updated_at", "-id").limit(limit)
