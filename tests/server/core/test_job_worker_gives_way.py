"""`hearth serve`'s worker gives way to requests (hearth.server.core.job_worker `gives_way`,
hearth.server.core.pressure): while the process is busy answering, it starts one job per
pause, a slow job holds no other up, and every job still runs; once requests stop, all
slots work at once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from hearth.server.core import job_queue, job_worker
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings

pytestmark = pytest.mark.usefixtures("db")

KIND = "test.slow"


class Counting:
    """A handler that takes a little while and notes how many ran at once, and when."""

    def __init__(self, count: int) -> None:
        self.running = self.most = 0
        self.starts: list[float] = []
        self.count = count
        self.all_ran = asyncio.Event()

    async def __call__(self, context: JobContext, payload: dict[str, Any]) -> None:
        self.starts.append(time.monotonic())
        self.running += 1
        self.most = max(self.most, self.running)
        await asyncio.sleep(0.02)
        self.running -= 1
        if len(self.starts) == self.count:
            self.all_ran.set()


async def run_all(settings: Settings, count: int, busy: bool) -> Counting:
    for n in range(count):
        await job_queue.enqueue(KIND, {}, key=f"slow-{n}")
    handler = Counting(count)
    worker = Worker(settings, {KIND: handler}, concurrency=8, gives_way=lambda: busy)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(handler.all_ran.wait(), 30)
    finally:
        stop.set()
        await task  # records the last outcomes
    return handler


async def test_while_busy_jobs_start_a_pause_apart_and_all_run(settings: Settings) -> None:
    handler = await run_all(settings, 6, busy=True)
    gaps = [b - a for a, b in zip(handler.starts, handler.starts[1:], strict=False)]
    assert min(gaps) >= job_worker.BUSY_PAUSE
    assert 6 == await Job.filter(kind=KIND, state=JobState.DONE).count()


async def test_while_busy_a_slow_job_holds_no_other_up(settings: Settings) -> None:
    """A job that waits long (a slow source) runs on while the others start and finish."""
    release = asyncio.Event()
    finished: list[str] = []

    async def handler(context: JobContext, payload: dict[str, Any]) -> None:
        if payload["slow"]:
            await release.wait()
        finished.append(context.job.idempotency_key)
        if len(finished) == 3:
            release.set()

    await job_queue.enqueue(KIND, {"slow": True}, key="slow")
    for n in range(3):
        await job_queue.enqueue(KIND, {"slow": False}, key=f"quick-{n}")
    worker = Worker(settings, {KIND: handler}, concurrency=8, gives_way=lambda: True)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.wait_for(release.wait(), 30)
    finally:
        stop.set()
        await task
    assert ["quick-0", "quick-1", "quick-2"] == finished[:3]
    assert 4 == await Job.filter(kind=KIND, state=JobState.DONE).count()


async def test_when_not_busy_the_jobs_share_every_slot(settings: Settings) -> None:
    handler = await run_all(settings, 6, busy=False)
    assert handler.most > 1
