"""The job queue (hearth.server.core.job_queue) on real SQLite: enqueue, claim, leases, retries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from hearth.server.core import job_queue
from hearth.server.core.models import Job, JobState

pytestmark = pytest.mark.usefixtures("db")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def lookup_misses_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make enqueue's first lookup miss, as when another enqueue inserts the key just after."""
    real = Job.get_or_none
    missed: list[bool] = []

    async def get_or_none(**filters: Any) -> Job | None:
        if not missed:
            missed.append(True)
            return None
        return await real(**filters)

    monkeypatch.setattr(Job, "get_or_none", get_or_none)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def claimed(worker: str = "w1", lease: float = 60, now: datetime = T0) -> Job:
    job = await job_queue.claim(worker, None, lease, now=now)
    assert job is not None
    return job


async def test_enqueue_is_idempotent_on_key() -> None:
    """A second enqueue with the same key returns the first job and queues nothing new."""
    first = await job_queue.enqueue("webmention.send", {"target": "a"}, key="wm:1", run_at=T0)
    second = await job_queue.enqueue("webmention.send", {"target": "b"}, key="wm:1")
    assert first.id == second.id
    assert second.payload == {"target": "a"}
    assert await Job.all().count() == 1


async def test_enqueue_race_returns_the_winner() -> None:
    """Concurrent enqueues of one key all get the same job; the losers' INSERT fails quietly."""
    queued = await asyncio.gather(
        *(job_queue.enqueue("k", {"n": n}, key="same") for n in range(10))
    )
    assert len({job.id for job in queued}) == 1
    assert await Job.all().count() == 1


async def test_lost_enqueue_race_leaves_callers_transaction_usable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A duplicate INSERT inside the caller's transaction only rolls back to a savepoint."""
    first = await job_queue.enqueue("k", {}, key="dup")
    await lookup_misses_once(monkeypatch)
    async with in_transaction():
        again = await job_queue.enqueue("k", {}, key="dup")
        other = await job_queue.enqueue("k", {}, key="other")
    assert again.id == first.id
    assert await Job.filter(id=other.id).exists()


async def test_enqueue_does_not_revive_done_job() -> None:
    """Re-enqueueing the key of a DONE job returns that job unchanged: the effect happened."""
    await job_queue.enqueue("k", {}, key="once", run_at=T0)
    job = await claimed()
    assert await job_queue.complete(job, "w1", now=later(1))
    again = await job_queue.enqueue("k", {}, key="once")
    assert job.id == again.id
    assert again.state == JobState.DONE
    assert None is await job_queue.claim("w1", None, 60, now=later(2))


async def test_enqueue_rejects_naive_run_at() -> None:
    """A run time without a time zone is refused rather than guessed."""
    with pytest.raises(ValueError, match="timezone-aware"):
        await job_queue.enqueue("k", {}, key="naive", run_at=datetime(2026, 1, 1))


async def test_scheduled_job_not_claimed_before_run_at() -> None:
    """A job scheduled for later is not claimed until its run time has come."""
    await job_queue.enqueue("k", {}, key="later", run_at=later(60))
    assert None is await job_queue.claim("w1", None, 60, now=later(59))
    job = await job_queue.claim("w1", None, 60, now=later(60))
    assert job is not None and job.idempotency_key == "later"


async def test_claim_takes_the_earliest_due_job_of_wanted_kinds() -> None:
    """Claim picks the earliest run_at among the requested kinds and leaves other kinds."""
    await job_queue.enqueue("a", {}, key="a-late", run_at=later(-10))
    await job_queue.enqueue("a", {}, key="a-early", run_at=later(-20))
    await job_queue.enqueue("b", {}, key="b-earliest", run_at=later(-30))
    job = await job_queue.claim("w1", ["a"], 60, now=T0)
    assert job is not None and job.idempotency_key == "a-early"


async def test_claim_counts_attempt_and_sets_lease() -> None:
    """Claiming marks the job running, counts the attempt and leases it to the worker."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed("w1", lease=90)
    row = await Job.get(id=job.id)
    for seen in (job, row):
        assert (seen.state, seen.attempts, seen.lease_owner) == (JobState.RUNNING, 1, "w1")
        assert later(90) == seen.lease_expires_at


async def test_crashed_workers_job_reclaimed_only_after_lease_expiry() -> None:
    """A job claimed and never finished runs again, but only once its lease has expired."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    await claimed("dead-worker", lease=60)
    assert None is await job_queue.claim("w2", None, 60, now=later(59))
    job = await claimed("w2", now=later(61))
    assert (job.lease_owner, job.attempts) == ("w2", 2)


async def test_stale_worker_cannot_touch_job_taken_over() -> None:
    """After a takeover the old owner's complete, fail, release and renew all do nothing."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    stale = await claimed("w1", lease=60)
    fresh = await claimed("w2", now=later(61))
    assert not await job_queue.complete(stale, "w1", now=later(62))
    assert not await job_queue.fail(stale, "w1", "late", now=later(62))
    assert not await job_queue.release(stale, "w1", now=later(62))
    assert not await job_queue.extend_lease(stale, "w1", 60, now=later(62))
    row = await Job.get(id=fresh.id)
    assert (row.state, row.lease_owner, row.attempts) == (JobState.RUNNING, "w2", 2)
    assert row.last_error is None
    assert await job_queue.complete(fresh, "w2", now=later(63))


async def test_same_worker_id_fenced_by_attempt_number() -> None:
    """A worker id that re-claimed its own expired job cannot settle it with the old attempt."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    first = await claimed("w1", lease=60)
    second = await claimed("w1", now=later(61))
    assert not await job_queue.complete(first, "w1", now=later(62))
    assert await job_queue.complete(second, "w1", now=later(62))


def test_backoff_grows_and_is_jittered() -> None:
    """Each retry waits longer than the one before, within the upper half of its step, random."""
    previous_max = 0.0
    for attempt in range(1, 8):
        step = job_queue.BACKOFF_BASE * 2 ** (attempt - 1)
        delays = [job_queue.backoff_delay(attempt) for _ in range(200)]
        assert all(step / 2 <= delay <= step for delay in delays)
        assert min(delays) >= previous_max
        assert len(set(delays)) > 100
        previous_max = max(delays)
    assert job_queue.backoff_delay(1000) <= job_queue.BACKOFF_CAP


async def test_fail_requeues_with_backoff_and_error() -> None:
    """A failed attempt with attempts left goes back to the queue after a backoff."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed()
    assert await job_queue.fail(job, "w1", "HTTP 503", now=later(5))
    row = await Job.get(id=job.id)
    assert (
        row.state,
        row.attempts,
        row.last_error,
        row.lease_owner,
    ) == (JobState.QUEUED, 1, "HTTP 503", None)
    assert later(5 + job_queue.BACKOFF_BASE / 2) <= row.run_at <= later(5 + job_queue.BACKOFF_BASE)


async def test_retry_after_replaces_backoff() -> None:
    """An explicit retry_after (e.g. HTTP Retry-After) sets the next run time exactly."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed()
    assert await job_queue.fail(job, "w1", "HTTP 429", retry_after=600, now=later(5))
    assert later(605) == (await Job.get(id=job.id)).run_at
    assert None is await job_queue.claim("w1", None, 60, now=later(604))
    assert None is not await job_queue.claim("w1", None, 60, now=later(605))


async def test_dead_after_max_attempts_keeps_last_error() -> None:
    """The last allowed failure makes the job DEAD with that attempt's error kept."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0, max_attempts=3)
    now = T0
    for attempt in range(1, 4):
        job = await claimed(now=now)
        assert attempt == job.attempts
        assert await job_queue.fail(job, "w1", f"error {attempt}", retry_after=0, now=now)
        now += timedelta(seconds=1)
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.last_error) == (JobState.DEAD, 3, "error 3")
    assert row.finished_at is not None
    assert None is await job_queue.claim("w1", None, 60, now=later(3600))


async def test_permanent_failure_is_dead_at_once() -> None:
    """fail(permanent=True) skips the remaining attempts."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed()
    assert await job_queue.fail(job, "w1", "410 Gone", permanent=True, now=later(1))
    assert (await Job.get(id=job.id)).state == JobState.DEAD


async def test_release_gives_job_back_without_counting_attempt() -> None:
    """A released job is due again at once and its attempt is not counted."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await claimed()
    assert await job_queue.release(job, "w1", now=later(1))
    row = await Job.get(id=job.id)
    assert (row.state, row.attempts, row.lease_owner) == (JobState.QUEUED, 0, None)
    assert (await claimed("w2", now=later(2))).attempts == 1


async def test_job_whose_worker_died_on_last_attempt_goes_dead() -> None:
    """A job that keeps killing its worker is not retried past max_attempts."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0, max_attempts=1)
    job = await claimed("w1", lease=60)
    assert None is await job_queue.claim("w2", None, 60, now=later(61))
    row = await Job.get(id=job.id)
    assert row.state == JobState.DEAD
    assert row.last_error is not None and "lease expired" in row.last_error


async def test_job_counts_and_recent_failures() -> None:
    """The dashboard helpers count every state and list failing jobs, newest first."""
    for name in ("ok", "flaky", "broken", "waiting"):
        await job_queue.enqueue("k", {}, key=name, run_at=T0 if name != "waiting" else later(60))
    ok, flaky, broken = [await claimed(now=later(n)) for n in range(3)]
    await job_queue.complete(ok, "w1", now=later(3))
    await job_queue.fail(flaky, "w1", "timeout", now=later(4))
    await job_queue.fail(broken, "w1", "404", permanent=True, now=later(5))
    assert await job_queue.job_counts() == {"queued": 2, "running": 0, "done": 1, "dead": 1}
    failures = await job_queue.recent_failures(10)
    assert [job.idempotency_key for job in failures] == ["broken", "flaky"]
    assert [job.idempotency_key for job in await job_queue.recent_failures(1)] == ["broken"]


def test_next_slot_is_the_next_boundary_and_numbers_it() -> None:
    """Any time within one slot gives the same next boundary (and key number); a boundary
    itself belongs to the slot it starts, so the next one is a full period on."""
    start = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    inside = [start + timedelta(seconds=s) for s in (0, 1, 599)]
    assert {(job_queue.next_slot(t, 600)) for t in inside} == {
        (int(start.timestamp()) // 600 + 1, start + timedelta(minutes=10))
    }
    assert (
        start + timedelta(minutes=20) == job_queue.next_slot(start + timedelta(minutes=10), 600)[1]
    )
