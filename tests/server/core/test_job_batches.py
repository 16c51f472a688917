"""The job queue's batch forms and idle helpers (hearth.server.core.job_queue) on real SQLite:
several jobs claimed, completed or renewed in one statement, each still fenced by its own
lease; `next_due`; `wake_on_enqueue`. The PostgreSQL suite runs these too."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hearth.server.core import job_queue
from hearth.server.core.models import Job, JobState

pytestmark = pytest.mark.usefixtures("db")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(name="statements")
def statements_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the jobs' connection runs from here on, in order."""
    seen: list[str] = []
    client = type(Job._meta.db)
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        real = getattr(client, name)

        def counted(self: Any, query: str, *args: Any, _real: Any = real, **kw: Any) -> Any:
            seen.append(query)
            return _real(self, query, *args, **kw)

        monkeypatch.setattr(client, name, counted)
    yield seen


async def queue(count: int, *, start: float = 0) -> list[Job]:
    """`count` jobs due one second apart from `start`, in order."""
    return [
        await job_queue.enqueue("k", {}, key=f"job-{n}", run_at=later(start + n))
        for n in range(count)
    ]


async def test_claim_many_leases_the_earliest_due_jobs_in_one_statement(
    statements: list[str],
) -> None:
    """Three of five due jobs, earliest first, each leased and its attempt counted: one
    statement for the three."""
    queued = await queue(5)
    statements.clear()
    jobs = await job_queue.claim_many("w1", None, 60, 3, now=later(10), take_back_first=False)
    assert 1 == len(statements)
    assert [job.id for job in queued[:3]] == [job.id for job in jobs]
    for job in jobs:
        row = await Job.get(id=job.id)
        for seen in (job, row):
            assert (seen.state, seen.attempts, seen.lease_owner) == (JobState.RUNNING, 1, "w1")
            assert later(70) == seen.lease_expires_at
    rest = await Job.filter(state=JobState.QUEUED).order_by("id").values_list("id", flat=True)
    assert [job.id for job in queued[3:]] == rest


async def test_claim_many_takes_only_due_jobs() -> None:
    """Asked for more than is due, it returns what is due and leaves later jobs queued."""
    await queue(4, start=-1)  # due at -1, 0, 1, 2
    jobs = await job_queue.claim_many("w1", None, 60, 10, now=T0)
    assert 2 == len(jobs)
    assert 2 == await Job.filter(state=JobState.QUEUED).count()


async def test_claims_in_parallel_never_share_a_job() -> None:
    """Many batch claims at once (one connection, or PostgreSQL's pool) split the jobs: each
    job goes to exactly one claimer."""
    queued = await queue(60)
    claims = await asyncio.gather(
        *(job_queue.claim_many(f"w{n}", None, 60, 7, now=later(100)) for n in range(12))
    )
    ids = [job.id for jobs in claims for job in jobs]
    assert sorted(ids) == sorted(job.id for job in queued)
    rows = await Job.all().values_list("lease_owner", flat=True)
    assert {f"w{n}" for n, jobs in enumerate(claims) if jobs} == set(rows)


async def test_claim_many_sends_jobs_out_of_attempts_dead_and_fills_their_places() -> None:
    """A job whose lease ran out on its last attempt goes DEAD; the batch is still full."""
    await job_queue.enqueue("k", {}, key="fatal", run_at=T0, max_attempts=1)
    await job_queue.claim("dead-worker", None, 60, now=T0)
    await queue(2, start=1)
    jobs = await job_queue.claim_many("w1", None, 60, 2, now=later(61))
    assert ["job-0", "job-1"] == [job.idempotency_key for job in jobs]
    assert JobState.DEAD == (await Job.get(idempotency_key="fatal")).state


async def test_complete_many_records_each_job_it_still_holds(statements: list[str]) -> None:
    """One statement: the jobs still held are DONE; one taken over meanwhile keeps its new
    owner's state, and its id is not among those returned."""
    await queue(3)
    jobs = await job_queue.claim_many("w1", None, 60, 3, now=later(5))
    taken = jobs[1]
    await Job.filter(id=taken.id).update(lease_owner="w2")
    statements.clear()
    done = await job_queue.complete_many(jobs, "w1", now=later(6))
    assert 1 == len(statements)
    assert {jobs[0].id, jobs[2].id} == done
    for job in (jobs[0], jobs[2]):
        row = await Job.get(id=job.id)
        assert (row.state, row.lease_owner, row.finished_at) == (JobState.DONE, None, later(6))
    row = await Job.get(id=taken.id)
    assert (row.state, row.lease_owner) == (JobState.RUNNING, "w2")


async def test_complete_many_is_fenced_by_each_jobs_attempt() -> None:
    """The same worker id cannot complete a job it claimed again since (a new attempt)."""
    await queue(2)
    first = await job_queue.claim_many("w1", None, 60, 2, now=later(5))
    again = await job_queue.claim("w1", None, 60, now=later(70))  # the leases ran out
    assert again is not None
    assert {job.id for job in first} - {again.id} == await job_queue.complete_many(
        first, "w1", now=later(71)
    )
    assert JobState.RUNNING == (await Job.get(id=again.id)).state


async def test_extend_leases_renews_held_jobs_and_names_them() -> None:
    await queue(2)
    jobs = await job_queue.claim_many("w1", None, 60, 2, now=later(5))
    await Job.filter(id=jobs[0].id).update(lease_owner="usurper")
    held = await job_queue.extend_leases(jobs, "w1", 60, now=later(30))
    assert {jobs[1].id} == held
    assert later(90) == (await Job.get(id=jobs[1].id)).lease_expires_at
    assert later(65) == (await Job.get(id=jobs[0].id)).lease_expires_at


async def test_next_due_is_the_earliest_run_at_or_lease_end() -> None:
    """Queued jobs count by run_at, running ones by when their lease runs out (they are
    claimable then); finished jobs and other kinds do not count."""
    assert None is await job_queue.next_due()
    await job_queue.enqueue("k", {}, key="claimed", run_at=T0)
    await job_queue.claim("w1", None, 90, now=T0)  # lease ends at 90
    assert later(90) == await job_queue.next_due()
    await job_queue.enqueue("k", {}, key="later", run_at=later(30))
    await job_queue.enqueue("other", {}, key="other", run_at=later(10))
    assert later(10) == await job_queue.next_due()
    assert later(30) == await job_queue.next_due(["k"])
    assert None is await job_queue.next_due([])


async def test_enqueue_wakes_this_process_waiting_workers() -> None:
    """A job queued sets the events registered with `wake_on_enqueue`, and only while they
    are registered; a job that was queued already wakes nobody."""
    event = asyncio.Event()
    with job_queue.wake_on_enqueue(event):
        await job_queue.enqueue("k", {}, key="x")
        assert event.is_set()
        event.clear()
        await job_queue.enqueue("k", {}, key="x")
        assert not event.is_set()
    await job_queue.enqueue("k", {}, key="y")
    assert not event.is_set()


async def test_a_retry_wakes_waiting_workers() -> None:
    """A job queued again (here a retry due at once) is work for an idle worker too."""
    await job_queue.enqueue("k", {}, key="x", run_at=T0)
    job = await job_queue.claim("w1", None, 60, now=T0)
    assert job is not None
    event = asyncio.Event()
    with job_queue.wake_on_enqueue(event):
        assert await job_queue.fail(job, "w1", "HTTP 503", retry_after=0, now=T0)
    assert event.is_set()


async def test_a_claim_takes_the_earliest_of_queued_and_lapsed_jobs_alike() -> None:
    """Among many waiting jobs, a claim takes the earliest due, whether queued or held by a
    worker whose lease lapsed, in `run_at` order across both."""
    for n in range(200):
        await job_queue.enqueue("test.kind", {}, key=f"q{n}", run_at=later(n + 10))
    lapsed = await job_queue.enqueue("test.kind", {}, key="lapsed", run_at=later(5))
    await Job.filter(id=lapsed.id).update(
        state=JobState.RUNNING, lease_owner="gone", lease_expires_at=later(6)
    )
    claimed = await job_queue.claim_many("w", None, 60, 3, now=later(500))
    assert ["lapsed", "q0", "q1"] == [job.idempotency_key for job in claimed]


@pytest.mark.one_store
async def test_a_claim_reads_the_queue_index_not_every_job() -> None:
    """SQLite's plan for the claim's pick: a search of the (state, run_at) index for each
    kind of claimable job, never a scan of the table (a claim with 30,000 jobs waiting took
    3 ms when every due job was gathered and sorted; now a few index entries)."""
    p = job_queue._Params("sqlite")
    sql = job_queue._earliest_sqlite(p, later(0), None, 16)
    connection = Job._meta.db
    plan = await connection.execute_query_dict(f"EXPLAIN QUERY PLAN {sql}", p.values)
    details = " | ".join(str(row["detail"]) for row in plan)
    assert "SCAN jobs" not in details, details
    assert details.count("USING") >= 2 and "state=? AND run_at<?" in details, details
