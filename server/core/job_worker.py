"""The `hearth worker` loop: claims jobs from `hearth.server.core.job_queue`, runs handlers.

Each handler is an async function `handler(ctx, payload)` registered under a job kind. It
returns to succeed, raises `Retry` to try again later, `PermanentFailure` to give up, and any
other exception counts as a failed attempt (retried with backoff until `max_attempts`).
`Postpone` (a `Retry`) waits without counting the attempt: "not now", not "failed"
(`job_queue.postpone`).

A worker runs up to `concurrency` jobs at once (most jobs wait on the network, so one
process keeps many in flight). Whenever slots are free it claims that many due jobs in one
statement (`job_queue.claim_many`), and the successes that end together are recorded in one
statement too (`job_queue.complete_many`: a group commit, written while the next ones run);
failures, retries and postponements are recorded one by one, each with its own error and
backoff. A job is in its slot until its outcome is recorded.

`hearth serve`'s own worker gives way to the requests it answers (`gives_way`, true while
requests keep arriving: `core.pressure`): it then starts one job per `BUSY_PAUSE`, so a
flood of readers or webmentions is answered at full speed and the work it queued is done in
a trickle meanwhile (jobs already running go on; a slow one holds no other up) and at full
speed once it passes. Other `hearth worker` processes are not slowed.

An idle worker does not poll in a loop. It sleeps until the earliest queued job comes due
(`job_queue.next_due`, one read), until this process queues one (`job_queue.wake_on_enqueue`:
`hearth serve` runs what its requests queue at once), or until it looks again for jobs other
processes queued: soon after the queue ran dry, then less often, at least once per
`poll_interval`.

While a handler runs, its lease is renewed every third of the lease time (one statement for
all the jobs in hand), so a long import is not taken over by another worker; if the lease is
lost anyway (the database was unreachable for longer than the lease), the handler is
cancelled because another worker may already be running the job.

A worker killed outright (`kill -9`, the OOM killer) cannot release its jobs. Each lease
records the holding process (`job_queue.ProcessId`), and every worker, about once per
`poll_interval`, takes back the jobs whose holder on its own host is provably gone
(`job_queue.take_back`): a restarted `hearth serve` or another `hearth worker` on that host
runs them within seconds instead of after the lease. A slow living worker keeps its jobs.

Stopping (SIGTERM/SIGINT via `stop_on_signals`, or setting the `stop` event) takes no new
work, gives running jobs `grace_period` seconds to finish, then cancels them and releases
them to the queue untried, so no job is left half-done and none loses an attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from hearth.server.core import job_queue
from hearth.server.core.models import Job
from hearth.server.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload."""

    settings: Settings
    # The shared guarded client (`hearth.server.core.http.create_http_client`), if the worker
    # has one.
    http: httpx.AsyncClient | None
    job: Job


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]


async def _call(handler: Handler, context: JobContext, payload: dict[str, Any]) -> None:
    # create_task needs a coroutine; a handler only promises an awaitable.
    await handler(context, payload)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# An idle worker's first look for other processes' jobs after the queue ran dry; each look
# that finds none doubles the wait, up to `poll_interval`.
FIRST_IDLE_WAIT = 0.05
# Sleeping until a job's `run_at` wakes this much after it, so the claim finds it due.
DUE_SLACK = 0.001
# While the process it shares gives way to requests: the pause before each job it starts
# (at most one job per pause).
BUSY_PAUSE = 0.1


@dataclass(eq=False)  # each is itself (hashed by identity), however alike two look
class _InHand:
    """A claimed job whose handler runs."""

    job: Job
    task: asyncio.Task[None]
    lost: bool = False  # the lease went to another worker: the outcome is not ours to record
    stopped: bool = False  # cancelled by our shutdown, after the grace period


class _Backoff:
    """Idle waits: `first`, doubling up to `longest`; `reset` when work turns up."""

    def __init__(self, first: float, longest: float) -> None:
        self.first = min(first, longest)
        self.longest = longest
        self._next = self.first

    def reset(self) -> None:
        self._next = self.first

    def next(self) -> float:
        wait = self._next
        self._next = min(wait * 2, self.longest)
        return wait


class _GroupCommit:
    """Successes recorded together: each waits for the next write, which takes every success
    that came in meanwhile (`job_queue.complete_many`: one statement, one commit)."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._waiting: list[tuple[Job, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def complete(self, job: Job) -> bool:
        """`job_queue.complete`, in the next batch."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    done = await job_queue.complete_many([job for job, _ in batch], self.worker_id)
                except Exception as exc:  # each waiter reports it as its own
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for job, future in batch:
                        if not future.done():
                            future.set_result(job.id in done)
        finally:
            self._writer = None


class Worker:
    """Runs jobs of every kind in the queue; kinds without a handler go DEAD.

    Every `hearth worker` runs the same handler registry, so a job nobody handles is a bug
    (a typo, or a handler removed in an upgrade) that should show on the dashboard at once
    rather than wait in the queue forever.
    """

    def __init__(
        self,
        settings: Settings,
        handlers: Mapping[str, Handler],
        *,
        http: httpx.AsyncClient | None = None,
        worker_id: str | None = None,
        poll_interval: float = 1.0,
        concurrency: int | None = None,
        grace_period: float = 30.0,
        lease_seconds: float | None = None,
        gives_way: Callable[[], bool] | None = None,
    ) -> None:
        # Jobs at once: `settings.job_concurrency` (HEARTH_JOB_CONCURRENCY) unless told.
        concurrency = settings.job_concurrency if concurrency is None else concurrency
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.handlers = dict(handlers)
        self.http = http
        # Unique per process and instance: the lease owner that fences out stale workers.
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        # Whether to give way now to the requests of the process we share (`hearth serve`).
        self.gives_way = gives_way
        self.grace_period = grace_period
        self.lease_seconds = float(lease_seconds or settings.job_lease_seconds)
        # First retry delay of a failed job (HEARTH_JOB_BACKOFF_SECONDS), doubling after.
        self.backoff = float(settings.job_backoff_seconds)
        # Recorded with each lease: who holds it, so it can be taken back once we are gone.
        self.process = job_queue.this_process()
        self._next_take_back = 0.0
        self._successes = _GroupCommit(self.worker_id)
        # The jobs being run (each task runs one job and records its outcome), and the
        # handlers among them still running (their leases are renewed).
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_hand: set[_InHand] = set()
        # Set when there may be work: a job queued in this process, a slot freed, a stop.
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then wind down gracefully and return."""
        log.info(
            "worker %s started (concurrency %d, process %s)",
            self.worker_id, self.concurrency, self.process,
        )  # fmt: skip
        self._wake = asyncio.Event()
        relay = asyncio.create_task(self._wake_on(stop))
        try:
            with job_queue.wake_on_enqueue(self._wake):
                async with self._heartbeat():
                    try:
                        await self._dispatch(stop)
                    except asyncio.CancelledError:
                        # Torn down (e.g. asyncio.run interrupted): do what a stop with no
                        # grace left would do, then let the cancellation go on.
                        await self._abandon()
                        raise
                    await self._wind_down()
        finally:
            relay.cancel()
        log.info("worker %s stopped", self.worker_id)

    async def run_once(self) -> bool:
        """Claim and run one due job; False if there was none."""
        jobs = await self._claim(1)
        if not jobs:
            return False
        async with self._heartbeat():
            await self._run_job(jobs[0])
        return True

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._wake.set()

    # Claiming ------------------------------------------------------------------------

    async def _dispatch(self, stop: asyncio.Event) -> None:
        """Keep the slots busy until `stop`: claim as many due jobs as slots are free."""
        idle = _Backoff(FIRST_IDLE_WAIT, self.poll_interval)
        while not stop.is_set():
            free = await self._free_slots(stop)
            if not free:
                continue  # stopping
            # Cleared before the claim: a job queued from here on wakes the wait below.
            self._wake.clear()
            claimed_at = job_queue.utcnow()
            try:
                jobs = await self._claim(free)
                if jobs:
                    idle.reset()
                    self._start(jobs, stop)
                if len(jobs) < free:  # none left due: wait for more, or for a job to end
                    await self._wait_for_work(stop, idle, claimed_at)
            except Exception:
                # Usually the database is unreachable; keep trying rather than exit, and let
                # lease expiry hand any job we were holding to whoever gets there.
                log.exception("worker %s: job queue error", self.worker_id)
                await self._sleep(self.poll_interval)

    async def _claim(self, limit: int) -> list[Job]:
        return await job_queue.claim_many(
            self.worker_id,
            None,
            self.lease_seconds,
            limit,
            process=self.process,
            take_back_first=self._take_back_due(),
        )

    async def _free_slots(self, stop: asyncio.Event) -> int:
        """The number of free slots, once there is one (0 if stopping); while giving way to
        requests, one, after a pause."""
        while len(self._tasks) >= self.concurrency and not stop.is_set():
            self._wake.clear()
            await self._wake.wait()  # a job ended (or stop, or a job queued: look again)
        if self.gives_way is not None and self.gives_way():
            # A job started per pause, however many still run (one slow fetch must not hold
            # the rest up). Not cut short by jobs queued meanwhile: under a flood of
            # requests, each queues one.
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BUSY_PAUSE)
            return 0 if stop.is_set() else 1
        # Jobs that ended together free their slots together: claim for all of them.
        await asyncio.sleep(0)
        return 0 if stop.is_set() else self.concurrency - len(self._tasks)

    def _take_back_due(self) -> bool:
        """Whether to look for jobs of dead workers now: once a poll interval, whatever the
        number of slots (the first claim always does)."""
        now = time.monotonic()
        if now < self._next_take_back:
            return False
        self._next_take_back = now + self.poll_interval
        return True

    async def _wait_for_work(
        self, stop: asyncio.Event, idle: _Backoff, claimed_at: datetime
    ) -> None:
        """Return when a job may be due: at once if one is, else when the earliest comes due,
        a job is queued in this process, or the next idle look is due (other processes queue
        jobs too), whichever comes first. One read per look; nothing else touches the
        database while the worker waits."""
        while not stop.is_set() and not self._wake.is_set():
            if self._take_back_due() and await job_queue.take_back(process=self.process):
                return
            due = await job_queue.next_due()
            wait = idle.next()
            if due is not None:
                until = (due - job_queue.utcnow()).total_seconds()
                if until <= 0:
                    # Due already. Since the claim that found nothing: claim at once. Before
                    # it: another worker's, or another process's not yet committed when we
                    # claimed (enqueue takes `run_at` before its commit), which no wake-up
                    # announces here: claim again after the idle wait, never busily, and
                    # never wait for it forever.
                    if due <= claimed_at and await self._sleep(wait):
                        idle.reset()
                    return
                if 0 < until <= wait:
                    await self._sleep(until + DUE_SLACK)
                    return
            if await self._sleep(wait):
                # Something happened here: look again soon if the claim finds nothing (a job
                # queued in a transaction is only claimable once that commits).
                idle.reset()
                return

    async def _sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if woken (a job queued here, a slot freed, a stop)."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        return self._wake.is_set()

    # Running ------------------------------------------------------------------------

    def _start(self, jobs: list[Job], stop: asyncio.Event) -> None:
        for job in jobs:
            task = asyncio.create_task(self._execute(job, stop), name=f"job-{job.id}-runner")
            self._tasks.add(task)
            task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a free slot

    async def _execute(self, job: Job, stop: asyncio.Event) -> None:
        """Run one claimed job (in its own task); errors recording it are logged."""
        try:
            if stop.is_set():  # claimed as the stop came
                await job_queue.release(job, self.worker_id)
            else:
                await self._run_job(job)
        except Exception:
            # The lease ends on its own and the job runs again: at least once, not lost.
            log.exception("worker %s: job %s: job queue error", self.worker_id, job.id)

    async def _run_job(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error("job %s: no handler for kind %r", job.id, job.kind)
            error = f"no handler registered for job kind {job.kind!r}"
            await job_queue.fail(job, self.worker_id, error, permanent=True)
            return
        context = JobContext(self.settings, self.http, job)
        task = asyncio.create_task(_call(handler, context, job.payload), name=f"job-{job.id}")
        hand = _InHand(job, task)
        self._in_hand.add(hand)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            # Torn down: the handler is cancelled, the job given back untried.
            task.cancel()
            await asyncio.wait({task})
            await job_queue.release(job, self.worker_id)
            raise
        finally:
            self._in_hand.discard(hand)
        await self._settle(hand)

    async def _wind_down(self) -> None:
        """On stop: wait up to the grace period for the jobs in hand, then cancel the rest of
        their handlers (their jobs are released, `_settle`)."""
        if self._tasks:
            log.info(
                "worker %s: stopping, waiting up to %ss for %d jobs",
                self.worker_id, self.grace_period, len(self._tasks),
            )  # fmt: skip
            await asyncio.wait(set(self._tasks), timeout=self.grace_period)
        for hand in self._in_hand:
            hand.stopped = True
            hand.task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _abandon(self) -> None:
        """Cancel every job task (each releases its job) and wait for them."""
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def _settle(self, hand: _InHand) -> None:
        """Record the handler's outcome. Payloads are never logged: they may hold tokens."""
        job, task = hand.job, hand.task
        where = f"job {job.id} ({job.kind}) attempt {job.attempts}/{job.max_attempts}"
        if hand.lost:
            log.warning("%s: lease lost to another worker; outcome discarded", where)
            return
        if hand.stopped and task.cancelled():
            log.info("%s: cut short by shutdown, released", where)
            await job_queue.release(job, self.worker_id)
            return
        if task.cancelled():
            # Cancelled from inside the handler, not by us: a failure like any other.
            exc: BaseException | None = asyncio.CancelledError("handler was cancelled")
        else:
            exc = task.exception()
        if exc is None:
            recorded = await self._successes.complete(job)
        elif isinstance(exc, job_queue.Postpone):
            log.info("%s: postponed %.0fs, attempt not counted: %s", where, exc.delay, exc)
            recorded = await job_queue.postpone(job, self.worker_id, str(exc), exc.delay)
        elif isinstance(exc, job_queue.Retry):
            log.info("%s: retry requested: %s", where, exc)
            error = _describe(exc)
            recorded = await job_queue.fail(
                job, self.worker_id, error, retry_after=exc.retry_after, backoff_base=self.backoff
            )
        elif isinstance(exc, job_queue.PermanentFailure):
            log.warning("%s: failed permanently: %s", where, _describe(exc))
            recorded = await job_queue.fail(job, self.worker_id, _describe(exc), permanent=True)
        else:
            log.warning("%s failed: %s", where, _describe(exc), exc_info=exc)
            error = _describe(exc)
            recorded = await job_queue.fail(job, self.worker_id, error, backoff_base=self.backoff)
        if not recorded:
            log.warning("%s: lease lost before the outcome was recorded", where)

    # Leases -------------------------------------------------------------------------

    @asynccontextmanager
    async def _heartbeat(self) -> AsyncIterator[None]:
        """Renew the leases of the jobs in hand while the block runs."""
        beat = asyncio.create_task(self._renew_leases())
        try:
            yield
        finally:
            beat.cancel()
            await asyncio.wait({beat})

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            running = [hand for hand in self._in_hand if not hand.task.done()]
            if not running:
                continue
            jobs = [hand.job for hand in running]
            try:
                held = await job_queue.extend_leases(jobs, self.worker_id, self.lease_seconds)
            except Exception:
                # A blip: the leases are still good for two more beats.
                log.warning("worker %s: could not renew leases", self.worker_id, exc_info=True)
                continue
            for hand in running:
                # A handler that ended meanwhile may have been recorded already: not lost.
                if hand.job.id not in held and not hand.task.done():
                    hand.lost = True
                    hand.task.cancel()


def stop_on_signals(stop: asyncio.Event) -> Callable[[], None]:
    """Set `stop` on SIGTERM or SIGINT; returns a function that removes the handlers."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)

    def restore() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)

    return restore
