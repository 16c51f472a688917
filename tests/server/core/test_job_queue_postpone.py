"""Postponing a job (hearth.server.core.job_queue.postpone) on real SQLite: "not now, and this was
not an attempt", with a spread so jobs waiting for the same moment do not start together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.server.core import job_queue
from hearth.server.core.models import Job, JobState

pytestmark = pytest.mark.usefixtures("db")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def claimed(worker: str = "w1", now: datetime = T0) -> Job:
    job = await job_queue.claim(worker, None, 60, now=now)
    assert job is not None
    return job


async def test_postpone_requeues_without_counting_the_attempt() -> None:
    """A postponed job waits at least the delay, within its spread; attempts stay as they were,
    and last_error says it is postponed, since when and why."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed()
    assert await job_queue.postpone(job, "w1", "paused", 600, now=later(1))
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.lease_owner) == (JobState.QUEUED, 0, None)
    assert later(601) <= row.run_at <= later(601 + 60)
    assert f"postponed since {later(1).isoformat()}: paused" == row.last_error


async def test_postponed_many_times_never_dies() -> None:
    """More postponements than max_attempts leave the job queued with every attempt left."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0, max_attempts=2)
    now = T0
    for _ in range(5):
        job = await claimed(now=now)
        assert await job_queue.postpone(job, "w1", "paused", 60, now=now)
        now = (await Job.get(id=job.id)).run_at
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts) == (JobState.QUEUED, 0)
    assert (await claimed(now=now)).attempts == 1


def test_postpone_delay_spreads_over_a_bounded_window() -> None:
    """The spread is a tenth of the delay, at least POSTPONE_SPREAD_MIN and at most
    POSTPONE_SPREAD_MAX seconds, and random within it."""
    for delay, window in ((0, 5.0), (600, 60.0), (86400, 300.0)):
        delays = [job_queue.postpone_delay(delay) for _ in range(200)]
        assert all(delay <= d <= delay + window for d in delays)
        assert max(delays) - min(delays) > window / 2
        assert len(set(delays)) > 100


async def test_stale_worker_cannot_postpone_a_job_taken_over() -> None:
    """The lease fences postpone like complete and fail."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    stale = await claimed("w1")
    await claimed("w2", now=later(61))
    assert not await job_queue.postpone(stale, "w1", "paused", 60, now=later(62))
    row = await Job.get(id=stale.id)
    assert (row.state, row.lease_owner, row.attempts) == (JobState.RUNNING, "w2", 2)


async def test_endless_postponing_counts_attempts_and_ends_dead() -> None:
    """A job postponed without a break for longer than POSTPONE_LIMIT (a handler postponing by
    mistake) uses up its attempts again and goes DEAD, the reason kept."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0, max_attempts=3)
    job = await claimed()
    assert await job_queue.postpone(job, "w1", "waiting for Godot", 60, now=T0)
    now = T0 + job_queue.POSTPONE_LIMIT + timedelta(seconds=1)
    for attempt in (1, 2, 3):
        job = await claimed(now=now)
        assert attempt == job.attempts
        assert await job_queue.postpone(job, "w1", "waiting for Godot", 60, now=now)
        now += timedelta(hours=1)
    row = await Job.get(id=job.id)
    assert row.state == JobState.DEAD
    assert f"postponed since {T0.isoformat()}: waiting for Godot" == row.last_error


async def test_a_real_failure_restarts_the_postponement_clock() -> None:
    """Only an unbroken run of postponements counts toward POSTPONE_LIMIT."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed()
    assert await job_queue.postpone(job, "w1", "paused", 60, now=T0)
    now = T0 + job_queue.POSTPONE_LIMIT
    job = await claimed(now=now)
    assert await job_queue.fail(job, "w1", "HTTP 503", retry_after=0, now=now)
    job = await claimed(now=now)
    assert await job_queue.postpone(job, "w1", "paused", 60, now=now + timedelta(days=1))
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts) == (JobState.QUEUED, 1)
