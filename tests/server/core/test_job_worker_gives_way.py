"""`hearth serve`'s worker gives way to requests (hearth.server.core.job_worker `gives_way`,
hearth.server.core.pressure): while the process is busy answering, jobs run one at a time
with a pause between them, and every job still runs; once requests stop, all slots work."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.core import job_queue, job_worker
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.pressure import Pressure
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


async def test_while_busy_jobs_run_one_at_a_time_with_a_pause_and_all_run(
    settings: Settings,
) -> None:
    handler = await run_all(settings, 6, busy=True)
    assert 1 == handler.most
    gaps = [b - a for a, b in zip(handler.starts, handler.starts[1:], strict=False)]
    assert min(gaps) >= job_worker.BUSY_PAUSE
    assert 6 == await Job.filter(kind=KIND, state=JobState.DONE).count()


async def test_when_not_busy_the_jobs_share_every_slot(settings: Settings) -> None:
    handler = await run_all(settings, 6, busy=False)
    assert handler.most > 1


async def test_a_request_makes_the_app_busy_for_a_moment(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pressure: Pressure = app.state.pressure
    assert not pressure.busy()
    await client.get("/")
    assert pressure.busy()
    monkeypatch.setattr(pressure, "window", 0.0)
    assert not pressure.busy()
