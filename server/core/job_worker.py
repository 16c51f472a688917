"""The `hearth worker` loop: claims jobs from `hearth.server.core.job_queue`, runs handlers.

Each handler is an async function `handler(ctx, payload)` registered under a job kind. It
returns to succeed, raises `Retry` to try again later, `PermanentFailure` to give up, and any
other exception counts as a failed attempt (retried with backoff until `max_attempts`).
`Postpone` (a `Retry`) waits without counting the attempt: "not now", not "failed"
(`job_queue.postpone`).

While a handler runs, a heartbeat renews the job's lease every third of the lease time, so a
long import is not taken over by another worker; if the lease is lost anyway (the database
was unreachable for longer than the lease), the handler is cancelled because another worker
may already be running the job.

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
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
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
        concurrency: int = 1,
        grace_period: float = 30.0,
        lease_seconds: float | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.settings = settings
        self.handlers = dict(handlers)
        self.http = http
        # Unique per process and instance: the lease owner that fences out stale workers.
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.grace_period = grace_period
        self.lease_seconds = float(lease_seconds or settings.job_lease_seconds)
        # First retry delay of a failed job (HEARTH_JOB_BACKOFF_SECONDS), doubling after.
        self.backoff = float(settings.job_backoff_seconds)
        # Recorded with each lease: who holds it, so it can be taken back once we are gone.
        self.process = job_queue.this_process()
        self._next_take_back = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then wind down gracefully and return."""
        log.info(
            "worker %s started (concurrency %d, process %s)",
            self.worker_id, self.concurrency, self.process,
        )  # fmt: skip
        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(self._slot(stop))
        log.info("worker %s stopped", self.worker_id)

    async def run_once(self) -> bool:
        """Claim and run one due job; False if there was none."""
        return await self._run_one(asyncio.Event())

    async def _slot(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                ran = await self._run_one(stop)
            except Exception:
                # Usually the database is unreachable; keep polling rather than exit, and
                # let lease expiry hand any job we were holding to whoever gets there.
                log.exception("worker %s: job queue error", self.worker_id)
                ran = False
            if not ran:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_interval)

    async def _run_one(self, stop: asyncio.Event) -> bool:
        job = await job_queue.claim(
            self.worker_id,
            None,
            self.lease_seconds,
            process=self.process,
            take_back_first=self._take_back_due(),
        )
        if job is None:
            return False
        if stop.is_set():
            await job_queue.release(job, self.worker_id)
        else:
            await self._execute(job, stop)
        return True

    def _take_back_due(self) -> bool:
        """Whether this claim should first look for jobs of dead workers: once a poll interval,
        whatever the number of slots (the first claim always does)."""
        now = time.monotonic()
        if now < self._next_take_back:
            return False
        self._next_take_back = now + self.poll_interval
        return True

    async def _execute(self, job: Job, stop: asyncio.Event) -> None:
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error("job %s: no handler for kind %r", job.id, job.kind)
            error = f"no handler registered for job kind {job.kind!r}"
            await job_queue.fail(job, self.worker_id, error, permanent=True)
            return
        context = JobContext(self.settings, self.http, job)
        task = asyncio.create_task(_call(handler, context, job.payload), name=f"job-{job.id}")
        lease_lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(job, task, lease_lost))
        try:
            cancelled = await self._wait(job, task, stop)
        except asyncio.CancelledError:
            # The worker itself is being torn down (e.g. asyncio.run interrupted): do what a
            # stop with no grace left would do, then let the cancellation go on.
            task.cancel()
            await asyncio.wait({task})
            await job_queue.release(job, self.worker_id)
            raise
        finally:
            heartbeat.cancel()
            await asyncio.wait({heartbeat})
        await self._settle(job, task, cancelled, lease_lost.is_set())

    async def _wait(self, job: Job, task: asyncio.Task[None], stop: asyncio.Event) -> bool:
        """Wait for the handler; on stop allow the grace period, then cancel it (True)."""
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                log.info("job %s: stopping, waiting up to %ss", job.id, self.grace_period)
                await asyncio.wait({task}, timeout=self.grace_period)
        finally:
            stopping.cancel()
        if task.done():
            return False
        task.cancel()
        await asyncio.wait({task})
        return True

    async def _settle(
        self, job: Job, task: asyncio.Task[None], cancelled: bool, lost: bool
    ) -> None:
        """Record the handler's outcome. Payloads are never logged: they may hold tokens."""
        where = f"job {job.id} ({job.kind}) attempt {job.attempts}/{job.max_attempts}"
        if lost:
            log.warning("%s: lease lost to another worker; outcome discarded", where)
            return
        if cancelled and task.cancelled():
            log.info("%s: cut short by shutdown, released", where)
            await job_queue.release(job, self.worker_id)
            return
        if task.cancelled():
            # Cancelled from inside the handler, not by us: a failure like any other.
            exc: BaseException | None = asyncio.CancelledError("handler was cancelled")
        else:
            exc = task.exception()
        if exc is None:
            recorded = await job_queue.complete(job, self.worker_id)
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

    async def _heartbeat(self, job: Job, task: asyncio.Task[None], lost: asyncio.Event) -> None:
        while not task.done():
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                held = await job_queue.extend_lease(job, self.worker_id, self.lease_seconds)
            except Exception:
                # A blip: the lease is still good for two more beats.
                log.warning("job %s: could not renew lease", job.id, exc_info=True)
                continue
            if not held:
                lost.set()
                task.cancel()
                return


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
