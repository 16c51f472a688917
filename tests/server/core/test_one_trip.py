"""Raw-SQL units (hearth.server.core.one_trip) on the real store: one transaction each, rolled
back whole on any error, a savepoint inside the caller's transaction, and never interleaved
with Tortoise's own statements on the shared SQLite connection. The PostgreSQL suite runs
these too (each statement awaited there)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hearth.server.core import job_queue, one_trip
from hearth.server.core.models import Job, JobState

pytestmark = pytest.mark.usefixtures("db")

WHEN = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC)


class Refused(Exception):
    pass


def queue(*keys: str, fail_after: bool = False) -> one_trip.Unit[list[int]]:
    """Insert a job per key; each INSERT's id from its RETURNING; optionally fail at the end."""
    ids = []
    for key in keys:
        sql, values = job_queue.insert_statement("test.kind", {"key": key}, key=key, now=WHEN)
        rows = yield sql + " RETURNING id", values
        ids.append(int(rows[0]["id"]))
    if fail_after:
        raise Refused
    return ids


async def keys() -> list[str]:
    return sorted(await Job.all().values_list("idempotency_key", flat=True))


async def test_a_unit_commits_every_statement_and_returns_its_result() -> None:
    ids = await one_trip.run(queue("a", "b"))
    jobs = await Job.filter(id__in=ids).order_by("id")
    assert ["a", "b"] == [job.idempotency_key for job in jobs]
    assert [{"key": "a"}, {"key": "b"}] == [job.payload for job in jobs]
    assert all(job.state == JobState.QUEUED and job.attempts == 0 for job in jobs)


async def test_datetimes_are_stored_as_tortoise_stores_them() -> None:
    """A time written by a unit reads back equal, and compares in SQL with Tortoise's own."""
    (job_id,) = await one_trip.run(queue("a"))
    job = await Job.get(id=job_id)
    assert (WHEN, WHEN) == (job.run_at, job.created_at)
    assert await Job.filter(run_at__lte=WHEN).exists()
    assert not await Job.filter(run_at__lt=WHEN).exists()


async def test_an_error_in_the_unit_rolls_back_all_of_it() -> None:
    await one_trip.run(queue("kept"))
    with pytest.raises(Refused):
        await one_trip.run(queue("x", "y", fail_after=True))
    assert ["kept"] == await keys()


async def test_a_failing_statement_is_an_integrity_error_and_stores_nothing() -> None:
    await one_trip.run(queue("taken"))
    with pytest.raises(IntegrityError):
        await one_trip.run(queue("new", "taken"))  # the second key exists
    assert ["taken"] == await keys()
    # The connection is usable afterwards: nothing is left open.
    await one_trip.run(queue("after"))
    assert ["after", "taken"] == await keys()


async def test_inside_a_transaction_the_callers_rollback_undoes_the_unit() -> None:
    with pytest.raises(Refused):
        async with in_transaction():
            await Job.create(kind="test.kind", idempotency_key="orm", run_at=WHEN)
            await one_trip.run(queue("unit"))
            raise Refused
    assert [] == await keys()


async def test_inside_a_transaction_a_failed_unit_undoes_only_itself() -> None:
    async with in_transaction():
        await Job.create(kind="test.kind", idempotency_key="orm", run_at=WHEN)
        with pytest.raises(Refused):
            await one_trip.run(queue("unit", fail_after=True))
        await one_trip.run(queue("second"))
    assert ["orm", "second"] == await keys()


async def test_units_and_tortoise_transactions_at_once_never_interleave() -> None:
    """Many tasks at once, half units and half Tortoise transactions, some failing: every
    committed one is whole, every failed one left nothing."""

    async def orm(n: int) -> None:
        async with in_transaction():
            await Job.create(kind="test.kind", idempotency_key=f"orm-{n}-1", run_at=WHEN)
            await asyncio.sleep(0)  # let the other tasks run in the middle
            await Job.create(kind="test.kind", idempotency_key=f"orm-{n}-2", run_at=WHEN)
            if n % 3 == 0:
                raise Refused

    async def unit(n: int) -> None:
        await one_trip.run(queue(f"unit-{n}-1", f"unit-{n}-2", fail_after=n % 3 == 0))

    results = await asyncio.gather(
        *(task(n) for n in range(30) for task in (orm, unit)), return_exceptions=True
    )
    assert all(r is None or isinstance(r, Refused) for r in results), results
    kept = [n for n in range(30) if n % 3]
    expected = sorted(f"{kind}-{n}-{i}" for kind in ("orm", "unit") for n in kept for i in (1, 2))
    assert expected == await keys()


def test_postgres_placeholders_are_numbered_in_order() -> None:
    assert "SELECT $1, $2 FROM t WHERE a = $3" == one_trip.numbered(
        "SELECT ?, ? FROM t WHERE a = ?"
    )


async def test_units_that_arrive_together_share_a_commit_each_all_or_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Group commit on SQLite: units waiting while a batch runs go in the next one, in one
    trip; a failing one among them undoes only itself. (PostgreSQL runs each on its own.)"""
    trips: list[int] = []
    real = one_trip._run_batch

    def counted(conn: object, units: list[object]) -> object:
        trips.append(len(units))
        return real(conn, units)  # type: ignore[arg-type]

    monkeypatch.setattr(one_trip, "_run_batch", counted)
    await asyncio.gather(
        *(one_trip.run(queue(f"k{n}", fail_after=n == 5)) for n in range(20)),
        return_exceptions=True,
    )
    assert sorted(f"k{n}" for n in range(20) if n != 5) == await keys()
    if Job._meta.db.capabilities.dialect == "sqlite":
        assert 20 == sum(trips)
        assert len(trips) <= 2, trips  # the first alone, then all the others at once


SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000)"
    " SELECT COUNT(*) AS n FROM c"
)


def slow_then_queue(key: str) -> one_trip.Unit[list[int]]:
    """A unit that keeps the database thread busy for a while before its insert."""
    yield SLOW, ()
    return (yield from queue(key))


async def test_a_caller_cancelled_before_its_unit_ran_stores_nothing() -> None:
    """Group commit (SQLite): a unit still waiting for the batch on the thread is taken out
    when its caller is cancelled; the running batch is unharmed."""
    if Job._meta.db.capabilities.dialect != "sqlite":
        pytest.skip("group commit is SQLite's")
    running = asyncio.create_task(one_trip.run(slow_then_queue("running")))
    await asyncio.sleep(0.05)  # the first batch is on the thread
    waiting = asyncio.create_task(one_trip.run(queue("waiting")))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await running
    assert ["running"] == await keys()


async def test_a_caller_cancelled_while_its_unit_runs_gets_its_outcome() -> None:
    """Once on the thread a unit cannot be stopped: its caller is told what it stored (so a
    create keeps the files of the post it made), then the cancellation takes effect."""
    if Job._meta.db.capabilities.dialect != "sqlite":
        pytest.skip("group commit is SQLite's")
    told: list[list[int]] = []

    async def caller() -> None:
        told.append(await one_trip.run(slow_then_queue("stored")))
        await asyncio.sleep(3600)  # the next await: cancelled here

    task = asyncio.create_task(caller())
    await asyncio.sleep(0.05)  # its batch is on the thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ["stored"] == await keys()
    assert [[(await Job.get(idempotency_key="stored")).id]] == told
