"""The worker (hearth.server.core.job_worker) with batches and without polling, on real SQLite:
jobs claimed and recorded several at a time yet each once and with its own outcome, an idle
worker that only looks at the database at its bounded wake-ups, and jobs queued in-process or
coming due that run at once. The PostgreSQL suite runs these too (but the SQLite processes
test)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext, Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings
from tests.server.core.job_processes import run_together
from tests.server.core.test_job_batches import statements_fixture  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("db")

REPO = Path(__file__).resolve().parents[3]


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Event]:
    """`worker` runs for the block; the block gets its stop event."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


async def until(check: Callable[[], bool], within: float = 5.0) -> float:
    """Seconds until `check()` holds (checked every 10 ms); fails after `within` seconds."""
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < within, "timed out"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def settled(done: int) -> None:
    """Wait until `done` jobs are DONE and none is running."""
    for _ in range(500):
        counts = await job_queue.job_counts()
        if counts["done"] == done and counts["running"] == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not settled: {await job_queue.job_counts()}")


def recorder(ran: list[int]) -> Handler:
    async def record(context: JobContext, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        ran.append(context.job.id)

    return record


async def test_two_workers_with_batch_claims_run_every_job_once(settings: Settings) -> None:
    """Two workers of eight slots each, claiming up to eight jobs a statement, split 200 jobs
    and run each exactly once."""
    ids = [(await job_queue.enqueue("t", {}, key=f"job-{n}")).id for n in range(200)]
    ran: list[int] = []
    workers = [
        Worker(settings, {"t": recorder(ran)}, worker_id=f"w{n}", concurrency=8) for n in range(2)
    ]
    async with running(workers[0]), running(workers[1]):
        await until(lambda: len(ran) >= len(ids))
        await asyncio.sleep(0.1)  # a job run twice would show now
    assert sorted(ids) == sorted(ran)
    assert await job_queue.job_counts() == {"queued": 0, "running": 0, "done": 200, "dead": 0}


async def test_outcomes_in_one_batch_are_each_jobs_own(settings: Settings) -> None:
    """Jobs that end together: the successes are DONE, each failure is retried with its own
    error and backoff, a postponement keeps its attempt."""

    async def mixed(context: JobContext, payload: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)  # all eight are running at once, and end together
        if payload["n"] % 4 == 1:
            raise ValueError(f"job {payload['n']}")
        if payload["n"] % 4 == 3:
            raise job_queue.Postpone("not now", retry_after=600)

    jobs = [await job_queue.enqueue("t", {"n": n}, key=f"job-{n}") for n in range(8)]
    worker = Worker(settings, {"t": mixed}, concurrency=8)
    async with running(worker):
        await settled(4)
    for n, job in enumerate(jobs):
        row = await Job.get(id=job.id)
        if n % 4 == 1:
            assert (row.state, row.attempts, row.last_error) == (
                JobState.QUEUED, 1, f"ValueError: job {n}",
            )  # fmt: skip
            assert row.run_at > job_queue.utcnow()
        elif n % 4 == 3:
            assert (row.state, row.attempts) == (JobState.QUEUED, 0)
            assert (row.last_error or "").endswith(": not now")
        else:
            assert (row.state, row.attempts, row.last_error) == (JobState.DONE, 1, None)


async def test_successes_ending_together_are_recorded_together(
    settings: Settings, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight jobs for eight slots: claimed by one statement, and their successes recorded in
    fewer statements than jobs (a group commit)."""
    for n in range(8):
        await job_queue.enqueue("t", {}, key=f"job-{n}")
    claimed: list[int] = []
    claim_rows = job_queue._claim_rows

    async def counted(*args: Any) -> list[Job]:
        jobs = await claim_rows(*args)
        claimed.append(len(jobs))
        return jobs

    monkeypatch.setattr(job_queue, "_claim_rows", counted)
    ran: list[int] = []
    worker = Worker(settings, {"t": recorder(ran)}, concurrency=8)
    statements.clear()
    async with running(worker):
        await settled(8)
    assert 8 == claimed[0]
    completions = [s for s in statements if s.startswith("UPDATE") and "finished_at" in s]
    assert 1 <= len(completions) < 4


async def test_idle_worker_reads_the_queue_only_at_its_wake_ups(
    settings: Settings, statements: list[str]
) -> None:
    """Idle for two seconds with eight slots and `poll_interval` 0.5: a handful of reads
    (looks that back off from 50 ms to the interval, and a look for dead workers' jobs each
    interval), not a claim per slot per poll; and none at all between two wake-ups."""
    worker = Worker(settings, {}, concurrency=8, poll_interval=0.5)
    statements.clear()
    async with running(worker):
        await asyncio.sleep(1.2)
        settled = len(statements)
        await asyncio.sleep(0.3)  # within one wait of 0.5 s (at most one wake-up)
        quiet = len(statements) - settled
        await asyncio.sleep(0.5)
    # Wake-ups at about 0.05, 0.15, 0.35, 0.75, 1.25, 1.75 s: each one read, plus a look for
    # dead workers' jobs every 0.5 s, plus the first claim.
    assert len(statements) <= 14, statements
    assert quiet <= 2
    assert 1 == sum("UPDATE" in s for s in statements)  # the first claim alone


async def test_job_queued_in_process_runs_without_waiting_for_the_poll(
    settings: Settings,
) -> None:
    """A worker that looks for other processes' jobs every 30 s runs a job queued in its
    own process at once (as `hearth serve` does what its requests queue)."""
    ran: list[int] = []
    worker = Worker(settings, {"t": recorder(ran)}, poll_interval=30)
    async with running(worker):
        await asyncio.sleep(0.3)  # idle, well into a long wait
        await job_queue.enqueue("t", {}, key="now")
        assert await until(lambda: bool(ran)) < 0.5


async def test_job_committed_by_another_process_after_a_claim_still_runs(
    settings: Settings,
) -> None:
    """Another process's job, its `run_at` taken before the idle worker's last claim but
    committed after it (no wake-up reaches this process), runs at the next idle look instead
    of never (the soak on PostgreSQL found workers idle for good with 14,000 jobs due)."""
    ran: list[int] = []
    worker = Worker(settings, {"t": recorder(ran)}, poll_interval=1.0)
    async with running(worker):
        await asyncio.sleep(0.5)  # its claim found nothing; it waits
        await Job.create(
            kind="t",
            payload={},
            idempotency_key="elsewhere",
            run_at=job_queue.utcnow() - timedelta(seconds=1),
            state=JobState.QUEUED,
        )
        assert await until(lambda: bool(ran), within=5.0) < 2.5


async def test_idle_worker_wakes_when_the_next_job_comes_due(settings: Settings) -> None:
    """A job queued for later runs when it comes due, not at the next poll 30 s on."""
    ran: list[int] = []
    worker = Worker(settings, {"t": recorder(ran)}, poll_interval=30)
    run_at = job_queue.utcnow() + timedelta(seconds=0.6)
    await job_queue.enqueue("t", {}, key="soon", run_at=run_at)
    async with running(worker):
        waited = await until(lambda: bool(ran))
    assert job_queue.utcnow() >= run_at
    assert waited < 1.5


CHILD = """
import asyncio, random, sys
from pathlib import Path
from hearth.server.core.db import connect
from hearth.server.core.job_queue import job_counts
from hearth.server.core.settings import Settings
from hearth.server.core.job_worker import Worker

async def main():
    settings = Settings(data_dir=Path(sys.argv[1]))
    output = Path(sys.argv[2])
    async with connect(settings, run_migrations=False):
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        with output.open("a") as sink:
            async def record(context, payload):
                await asyncio.sleep(random.random() * 0.002)
                sink.write(f"{context.job.id}\\n")
                sink.flush()

            worker = Worker(settings, {"record": record}, concurrency=8, poll_interval=0.05)
            stop = asyncio.Event()
            run = asyncio.create_task(worker.run(stop))
            while True:
                counts = await job_counts()
                if counts["queued"] + counts["running"] == 0:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await run

asyncio.run(main())
"""


@pytest.mark.one_store
async def test_worker_processes_on_sqlite_never_run_a_job_twice(
    settings: Settings, tmp_path: Path
) -> None:
    """Three worker processes batch-claiming from one SQLite file run each job exactly once."""
    ids = [(await job_queue.enqueue("record", {}, key=f"job-{n}")).id for n in range(300)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outputs = [tmp_path / f"process-{n}.txt" for n in range(3)]
    pipes = {"stdin": asyncio.subprocess.PIPE, "stdout": asyncio.subprocess.PIPE}
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CHILD, str(settings.data_dir), str(output), env=env, **pipes
        )
        for output in outputs
    ]
    await run_together(children)
    runs = [int(line) for output in outputs for line in output.read_text().splitlines()]
    assert sorted(ids) == sorted(runs)
    assert sum(1 for output in outputs if output.read_text()) > 1
    assert await job_queue.job_counts() == {"queued": 0, "running": 0, "done": 300, "dead": 0}
