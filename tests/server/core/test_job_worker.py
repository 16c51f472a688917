"""The worker loop (hearth.server.core.job_worker) on real SQLite: outcomes, concurrency,
stopping."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext, Worker, stop_on_signals
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings

pytestmark = pytest.mark.usefixtures("db")

REPO = Path(__file__).resolve().parents[3]


def worker(settings: Settings, handlers: dict[str, Handler], **options: Any) -> Worker:
    options.setdefault("poll_interval", 0.01)
    return Worker(settings, handlers, **options)


def blocking_handler(
    started: asyncio.Event, cancelled: asyncio.Event, seconds: float = 3600
) -> Callable[[JobContext, dict[str, Any]], Awaitable[None]]:
    """A handler that signals its start, then sleeps, noting whether it was cancelled."""

    async def handler(context: JobContext, payload: dict[str, Any]) -> None:
        started.set()
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    return handler


async def test_run_once_runs_handler_and_completes(settings: Settings) -> None:
    """The handler gets the settings, the job and its payload; success marks the job DONE."""
    seen: list[tuple[Settings, int, dict[str, Any]]] = []

    async def ping(context: JobContext, payload: dict[str, Any]) -> None:
        seen.append((context.settings, context.job.id, payload))

    job = await job_queue.enqueue("websub.ping", {"hub": "https://hub.example/"}, key="k")
    runner = worker(settings, {"websub.ping": ping})
    assert await runner.run_once()
    assert not await runner.run_once()
    assert [(settings, job.id, {"hub": "https://hub.example/"})] == seen
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.lease_owner) == (JobState.DONE, 1, None)


async def test_unknown_kind_goes_dead_with_clear_error(settings: Settings) -> None:
    """A job no handler is registered for is not retried: DEAD, naming the kind."""
    job = await job_queue.enqueue("no.such.kind", {}, key="k")
    assert await worker(settings, {}).run_once()
    row = await Job.get(id=job.id)
    assert row.state == JobState.DEAD
    assert row.last_error == "no handler registered for job kind 'no.such.kind'"


async def test_handler_error_is_logged_without_payload_and_retried(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception is a failed attempt: logged by kind, id and attempt, never the payload."""

    async def broken(context: JobContext, payload: dict[str, Any]) -> None:
        raise ValueError("boom")

    job = await job_queue.enqueue("syndicate", {"token": "s3cret-token"}, key="k")
    with caplog.at_level(logging.INFO, logger="hearth.server.core.job_worker"):
        assert await worker(settings, {"syndicate": broken}).run_once()
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.last_error) == (JobState.QUEUED, 1, "ValueError: boom")
    assert row.run_at > job_queue.utcnow()
    assert f"job {job.id} (syndicate) attempt 1/8 failed: ValueError: boom" in caplog.text
    assert "s3cret-token" not in caplog.text


async def test_retry_exception_honours_retry_after(settings: Settings) -> None:
    """`Retry(retry_after=...)` schedules the next attempt that many seconds later."""

    async def limited(context: JobContext, payload: dict[str, Any]) -> None:
        raise job_queue.Retry("HTTP 429", retry_after=120)

    job = await job_queue.enqueue("webmention.send", {}, key="k")
    before = job_queue.utcnow()
    assert await worker(settings, {"webmention.send": limited}).run_once()
    after = job_queue.utcnow()
    row = await Job.get(id=job.id)
    assert (row.state, row.last_error) == (JobState.QUEUED, "Retry: HTTP 429")
    assert before + timedelta(seconds=120) <= row.run_at <= after + timedelta(seconds=120)


async def test_postpone_exception_waits_without_counting_the_attempt(
    settings: Settings,
) -> None:
    """`Postpone` requeues after its delay (plus a spread) and gives the attempt back, so a
    job postponed more often than max_attempts is still there to run."""

    async def paused(context: JobContext, payload: dict[str, Any]) -> None:
        raise job_queue.Postpone("account paused", retry_after=120)

    job = await job_queue.enqueue("instagram.poll", {}, key="k", max_attempts=2)
    runner = worker(settings, {"instagram.poll": paused})
    for _ in range(3):
        await Job.filter(id=job.id).update(run_at=job_queue.utcnow())
        before = job_queue.utcnow()
        assert await runner.run_once()
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts) == (JobState.QUEUED, 0)
    assert (row.last_error or "").endswith(": account paused")
    assert before + timedelta(seconds=120) <= row.run_at
    assert row.run_at <= job_queue.utcnow() + timedelta(seconds=120 + 12)  # a tenth of it


@pytest.mark.parametrize("backoff", [0, 400])
async def test_failed_attempt_waits_the_configured_backoff(
    settings: Settings, backoff: int
) -> None:
    """The first retry waits between half and all of `HEARTH_JOB_BACKOFF_SECONDS`."""

    async def broken(context: JobContext, payload: dict[str, Any]) -> None:
        raise ValueError("boom")

    settings = dataclasses.replace(settings, job_backoff_seconds=backoff)
    job = await job_queue.enqueue("syndicate", {}, key="k")
    before = job_queue.utcnow()
    assert await worker(settings, {"syndicate": broken}).run_once()
    after = job_queue.utcnow()
    row = await Job.get(id=job.id)
    assert before + timedelta(seconds=backoff / 2) <= row.run_at
    assert row.run_at <= after + timedelta(seconds=backoff)


async def test_permanent_failure_exception_is_dead_at_once(settings: Settings) -> None:
    """`PermanentFailure` ends the job on its first attempt, keeping the error."""

    async def gone(context: JobContext, payload: dict[str, Any]) -> None:
        raise job_queue.PermanentFailure("target returned 410")

    job = await job_queue.enqueue("webmention.send", {}, key="k")
    assert await worker(settings, {"webmention.send": gone}).run_once()
    row = await Job.get(id=job.id)
    assert (
        row.state,
        row.attempts,
        row.last_error,
    ) == (JobState.DEAD, 1, "PermanentFailure: target returned 410")


async def test_concurrent_workers_run_every_job_exactly_once(settings: Settings) -> None:
    """Four workers (two slots each) draining 50 jobs together run each job exactly once."""
    ran: list[tuple[int, str | None]] = []
    all_ran = asyncio.Event()

    async def record(context: JobContext, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.001)  # yield, so the other workers' claims interleave
        ran.append((context.job.id, context.job.lease_owner))
        if len(ran) >= len(ids):
            all_ran.set()

    ids = [(await job_queue.enqueue("t", {}, key=f"job-{n}")).id for n in range(50)]
    workers = [worker(settings, {"t": record}, worker_id=f"w{n}", concurrency=2) for n in range(4)]
    stop = asyncio.Event()

    async def stop_when_drained() -> None:
        # Workers finish (and record) the job in hand before they return.
        await all_ran.wait()
        stop.set()

    runs = asyncio.gather(stop_when_drained(), *(w.run(stop) for w in workers))
    await asyncio.wait_for(runs, timeout=10)
    assert sorted(ids) == sorted(job_id for job_id, _ in ran)
    assert len({owner for _, owner in ran}) > 1
    assert await job_queue.job_counts() == {"queued": 0, "running": 0, "done": 50, "dead": 0}


async def test_stop_lets_job_finish_within_grace_and_takes_no_more(settings: Settings) -> None:
    """On stop a job that ends within the grace period completes; queued jobs stay queued
    (a worker of one slot, so the second job is not already in hand when the stop comes)."""
    started, cancelled = asyncio.Event(), asyncio.Event()
    first = await job_queue.enqueue("slow", {}, key="first")
    second = await job_queue.enqueue("slow", {}, key="second")
    handlers = {"slow": blocking_handler(started, cancelled, 0.2)}
    runner = worker(settings, handlers, grace_period=5, concurrency=1)
    stop = asyncio.Event()
    run = asyncio.create_task(runner.run(stop))
    await started.wait()
    stop.set()
    await asyncio.wait_for(run, timeout=5)
    assert not cancelled.is_set()
    assert (await Job.get(id=first.id)).state == JobState.DONE
    row = await Job.get(id=second.id)
    assert (row.state, row.attempts) == (JobState.QUEUED, 0)


async def test_stop_releases_job_that_outlasts_grace(settings: Settings) -> None:
    """A job still running when the grace period ends is cancelled and released untried."""
    started, cancelled = asyncio.Event(), asyncio.Event()
    job = await job_queue.enqueue("stuck", {}, key="k")
    runner = worker(settings, {"stuck": blocking_handler(started, cancelled)}, grace_period=0.1)
    stop = asyncio.Event()
    run = asyncio.create_task(runner.run(stop))
    await started.wait()
    stop.set()
    await asyncio.wait_for(run, timeout=5)
    assert cancelled.is_set()
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.lease_owner) == (JobState.QUEUED, 0, None)
    assert row.last_error is None


async def test_heartbeat_keeps_long_job_leased(settings: Settings) -> None:
    """A job running for several lease lengths is renewed, so no other worker takes it."""
    started, cancelled = asyncio.Event(), asyncio.Event()
    # The job outlives its lease more than twice over; renewals come every lease / 3.
    handlers = {"long": blocking_handler(started, cancelled, 1.2)}
    job = await job_queue.enqueue("long", {}, key="k")
    owner = worker(settings, handlers, worker_id="owner", lease_seconds=0.5)
    rival = worker(settings, handlers, worker_id="rival", lease_seconds=0.5)
    run = asyncio.create_task(owner.run_once())
    await started.wait()
    stolen = False
    while not run.done():
        stolen = stolen or await rival.run_once()
        await asyncio.sleep(0.05)
    assert not stolen
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts) == (JobState.DONE, 1)


async def test_lost_lease_cancels_handler(settings: Settings) -> None:
    """When another worker owns the job after all, the heartbeat cancels our handler."""
    started, cancelled = asyncio.Event(), asyncio.Event()
    job = await job_queue.enqueue("long", {}, key="k")
    runner = worker(settings, {"long": blocking_handler(started, cancelled)}, lease_seconds=0.3)
    run = asyncio.create_task(runner.run_once())
    await started.wait()
    await Job.filter(id=job.id).update(lease_owner="usurper")
    await asyncio.wait_for(run, timeout=5)
    assert cancelled.is_set()
    row = await Job.get(id=job.id)
    assert (row.state, row.lease_owner) == (JobState.RUNNING, "usurper")


CHILD = """
import asyncio, os, sys
from pathlib import Path
from hearth.server.core.db import connect
from hearth.server.core.settings import Settings
from hearth.server.core.job_worker import Worker, stop_on_signals

async def stuck(context, payload):
    print("started", flush=True)
    await asyncio.Event().wait()

async def main():
    # The test's store: its SQLite file, or the PostgreSQL pass's schema.
    url = os.environ.get("HEARTH_DATABASE_URL")
    settings = Settings(data_dir=Path(sys.argv[1]), database_url=url)
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with connect(settings, run_migrations=False):
        worker = Worker(settings, {"stuck": stuck}, poll_interval=0.01, grace_period=0.1)
        await worker.run(stop)

asyncio.run(main())
"""


async def test_sigterm_stops_worker_process_and_releases_job(settings: Settings) -> None:
    """A worker process (as `hearth worker` runs it) stops on SIGTERM and releases its job."""
    job = await job_queue.enqueue("stuck", {}, key="k")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(settings.data_dir), stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), timeout=10) == b"started\n"
        child.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(child.wait(), timeout=10) == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.lease_owner) == (JobState.QUEUED, 0, None)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_stop_on_signals_sets_stop_event(signum: signal.Signals) -> None:
    """Both SIGTERM and SIGINT set the stop event instead of killing the process."""
    stop = asyncio.Event()
    restore = stop_on_signals(stop)
    try:
        os.kill(os.getpid(), signum)
        await asyncio.wait_for(stop.wait(), timeout=5)
    finally:
        restore()


def test_concurrency_comes_from_the_settings(settings: Settings) -> None:
    """`hearth serve` and `hearth worker` run HEARTH_JOB_CONCURRENCY jobs at once; a caller
    may still say otherwise."""
    assert Worker(dataclasses.replace(settings, job_concurrency=3), {}).concurrency == 3
    assert Worker(settings, {}, concurrency=1).concurrency == 1
