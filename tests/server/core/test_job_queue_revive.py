"""`jobs.revive` on a real SQLite database: DEAD jobs whose cause is cured run again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.server.core import job_queue
from hearth.server.core.models import Job, JobState

pytestmark = pytest.mark.usefixtures("db")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CURED = "Reconnect Instagram:"


async def dead(kind: str, error: str, *, key: str | None = None) -> Job:
    """A job that ran out of luck: claimed, then failed permanently with `error`."""
    await job_queue.enqueue(kind, {}, key=key or f"{kind}:{error}", run_at=T0, max_attempts=3)
    job = await job_queue.claim("w1", [kind], 60, now=T0)
    assert job is not None
    assert await job_queue.fail(job, "w1", f"PermanentFailure: {error}", permanent=True, now=T0)
    return await Job.get(id=job.id)


async def test_revive_queues_matching_dead_jobs_afresh() -> None:
    """A matching DEAD job is QUEUED, due now, with no attempts, lease or finish time."""
    job = await dead("instagram.first_comment", f"token expired. {CURED} run ...")
    later = T0 + timedelta(hours=5)
    assert 1 == await job_queue.revive("instagram.", CURED, now=later)
    job = await Job.get(id=job.id)
    assert (JobState.QUEUED, later, 0) == (job.state, job.run_at, job.attempts)
    assert (None, None, None) == (job.finished_at, job.lease_owner, job.last_error)


async def test_revived_job_is_claimed_and_runs_again() -> None:
    """The revived job is handed to the next worker, attempt 1 of its budget again."""
    job = await dead("instagram.backfeed", CURED)
    await job_queue.revive("instagram.", CURED, now=T0 + timedelta(hours=1))
    claimed = await job_queue.claim("w2", None, 60, now=T0 + timedelta(hours=1))
    assert claimed is not None
    assert (job.id, 1) == (claimed.id, claimed.attempts)


async def test_revive_leaves_other_errors_dead() -> None:
    """A job that died for another reason stays DEAD with its error."""
    other = await dead("instagram.first_comment", "HTTP 400, code 100: media deleted")
    assert 0 == await job_queue.revive("instagram.", CURED)
    other = await Job.get(id=other.id)
    assert JobState.DEAD == other.state
    assert "media deleted" in (other.last_error or "")


async def test_revive_leaves_other_kinds_dead() -> None:
    """Only kinds starting with the prefix: another kind with the same text stays DEAD."""
    other = await dead("webmention.send", CURED)
    assert 0 == await job_queue.revive("instagram.", CURED)
    assert JobState.DEAD == (await Job.get(id=other.id)).state


async def test_revive_prefix_is_literal() -> None:
    """`_` and `%` in the prefix are characters, not LIKE wildcards."""
    other = await dead("instagramXpoll", CURED)
    assert 0 == await job_queue.revive("instagram_", CURED)
    assert 0 == await job_queue.revive("%", CURED)
    assert JobState.DEAD == (await Job.get(id=other.id)).state


async def test_revive_leaves_live_and_done_jobs_alone() -> None:
    """A retrying job keeps its backoff and a DONE job is not run again, whatever the error."""
    await job_queue.enqueue("instagram.poll", {}, key="retrying", run_at=T0)
    retrying = await job_queue.claim("w1", None, 60, now=T0)
    assert retrying is not None
    await job_queue.fail(retrying, "w1", CURED, retry_after=600, now=T0)
    await job_queue.enqueue("instagram.poll", {}, key="done", run_at=T0)
    done = await job_queue.claim("w1", None, 60, now=T0)
    assert done is not None
    await Job.filter(id=done.id).update(last_error=CURED)
    await job_queue.complete(done, "w1", now=T0)
    assert 0 == await job_queue.revive("instagram.", CURED)
    retrying, done = await Job.get(id=retrying.id), await Job.get(id=done.id)
    assert (JobState.QUEUED, T0 + timedelta(seconds=600)) == (retrying.state, retrying.run_at)
    assert JobState.DONE == done.state


async def test_revive_counts_every_match_once() -> None:
    """Several matching jobs come back in one call; a second call finds none left."""
    for n in range(3):
        await dead("instagram.first_comment", CURED, key=f"c{n}")
    assert 3 == await job_queue.revive("instagram.", CURED)
    assert 0 == await job_queue.revive("instagram.", CURED)
    assert 3 == await Job.filter(state=JobState.QUEUED).count()


@pytest.mark.parametrize(("prefix", "text"), [("", CURED), ("instagram.", "")])
async def test_revive_refuses_empty_filters(prefix: str, text: str) -> None:
    """An empty prefix or text would revive every dead job: refused."""
    with pytest.raises(ValueError, match="revive needs"):
        await job_queue.revive(prefix, text)
