"""The Instagram account's token-refresh chain and rate-limit pauses, run by the real worker
against the fake Instagram.

Tokens: https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token;
errors: https://developers.facebook.com/docs/graph-api/guides/error-handling; rate limits:
https://developers.facebook.com/docs/graph-api/overview/rate-limiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account, backfeed, connection
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramAccount
from hearth.wiring import job_handlers, on_worker_start
from tests.syndication.instagram.instagram_setup import copied_media

FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


@pytest.fixture(name="connected")
async def connected_fixture(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> InstagramAccount:
    connected = await connection.connect(settings, http, fake.token)
    # Only the jobs a test makes due run: park the poll the connection queued.
    await Job.exclude(kind=account.REFRESH).update(run_at=FAR_FUTURE)
    return connected


def worker(settings: Settings, http: httpx.AsyncClient) -> Worker:
    return Worker(settings, job_handlers(), http=http)


async def refresh_due_now() -> Job:
    """The one queued refresh job, made due now."""
    job = await Job.get(kind=account.REFRESH, state=JobState.QUEUED)
    await Job.filter(id=job.id).update(run_at=job_queue.utcnow())
    return job


async def queued_refreshes() -> list[Job]:
    return await Job.filter(kind=account.REFRESH, state=JobState.QUEUED)


async def test_failed_refresh_still_schedules_the_next(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """A refresh refused for a reason other than the token (code 10) dies, but a next refresh
    is queued a day later: the token is not left to expire."""
    job = await refresh_due_now()
    fake.fail_next(1, status=400, error_code=10)
    assert await worker(settings, http).run_once()
    assert JobState.DEAD == (await Job.get(id=job.id)).state
    [following] = await queued_refreshes()
    assert following.run_at > job_queue.utcnow() + timedelta(hours=23)


async def test_refresh_out_of_attempts_schedules_the_next_once(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Eight temporary failures in a row use up the job; exactly one next refresh is queued."""
    job = await refresh_due_now()
    fake.fail_next(8, status=500)
    runner = worker(settings, http)
    for _ in range(8):
        await Job.filter(id=job.id, state=JobState.QUEUED).update(run_at=job_queue.utcnow())
        assert await runner.run_once()
    assert JobState.DEAD == (await Job.get(id=job.id)).state
    assert 1 == len(await queued_refreshes())


async def test_bad_token_ends_the_refresh_chain(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Code 190 on the refresh: the owner must reconnect, so no next refresh is queued."""
    await refresh_due_now()
    fake.expire_token()
    assert await worker(settings, http).run_once()
    assert "expired" == (await InstagramAccount.get(id=connected.id)).token_state
    assert [] == await queued_refreshes()


async def test_successful_refresh_schedules_the_next_before_expiry(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """The new token's refresh is queued ten days before it expires, and only that one."""
    await refresh_due_now()
    assert await worker(settings, http).run_once()
    row = await InstagramAccount.get(id=connected.id)
    assert fake.token == row.token(settings) and row.token_expires_at is not None
    [following] = await queued_refreshes()
    expected = row.token_expires_at - account.REFRESH_BEFORE
    assert abs((following.run_at - expected).total_seconds()) < 1


async def test_refresh_reads_the_renamed_username(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """After a rename on Instagram, the next refresh job stores the new username."""
    fake.username = "renamed_owner"
    await refresh_due_now()
    assert await worker(settings, http).run_once()
    assert "renamed_owner" == (await InstagramAccount.get(id=connected.id)).username


async def test_worker_start_restarts_an_ended_refresh_chain(
    settings: Settings, http: httpx.AsyncClient, connected: InstagramAccount
) -> None:
    """A worker killed on a refresh's last attempt leaves no next refresh; the next worker to
    start queues one, once however many start."""
    await refresh_due_now()
    assert await worker(settings, http).run_once()  # the chain goes on: a next refresh
    await Job.filter(kind=account.REFRESH, state=JobState.QUEUED).update(
        state=JobState.RUNNING,
        attempts=8,
        lease_owner="killed",
        lease_expires_at=job_queue.utcnow(),
    )
    await on_worker_start(settings)
    await on_worker_start(settings)
    assert 1 == len(await queued_refreshes())


async def test_worker_start_keeps_a_queued_refresh(
    settings: Settings, connected: InstagramAccount
) -> None:
    """With the chain alive, starting a worker queues no second refresh."""
    await on_worker_start(settings)
    assert 1 == await Job.filter(kind=account.REFRESH).count()


async def test_worker_start_queues_no_refresh_for_a_bad_token(
    settings: Settings, connected: InstagramAccount
) -> None:
    """An expired token cannot be refreshed: no job until the owner reconnects."""
    await Job.filter(kind=account.REFRESH).delete()
    await InstagramAccount.filter(id=connected.id).update(token_state="expired")
    await on_worker_start(settings)
    assert 0 == await Job.filter(kind=account.REFRESH).count()


async def pause_account(minutes: float) -> datetime:
    until = job_queue.utcnow() + timedelta(minutes=minutes)
    await InstagramAccount.all().update(paused_until=until)
    return until


async def test_rate_limit_pause_uses_up_no_attempts(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A job that meets a pause ten times in a row is still queued, no attempt counted, and
    the dashboard says why it waits."""
    media = await copied_media(fake)
    job = await job_queue.enqueue(backfeed.POLL_COMMENTS, {"media_id": media.media_id}, key="p")
    runner = worker(settings, http)
    for _ in range(10):
        await pause_account(10)
        await Job.filter(id=job.id).update(run_at=job_queue.utcnow())
        assert await runner.run_once()
    row = await Job.get(id=job.id)
    assert (JobState.QUEUED, 0) == (row.state, row.attempts)
    assert "postponed since" in (row.last_error or "")
    assert "Instagram rate limit: paused until" in (row.last_error or "")
    assert [] == fake.requests


async def test_jobs_waiting_on_a_pause_start_spread_after_it(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Forty jobs meeting a ten-minute pause start at different moments within a minute
    after it ends, not all at once."""
    media = await copied_media(fake)
    for n in range(40):
        await job_queue.enqueue(backfeed.POLL_COMMENTS, {"media_id": media.media_id}, key=f"p{n}")
    until = await pause_account(10)
    runner = worker(settings, http)
    while await runner.run_once():
        pass
    starts = [job.run_at for job in await Job.filter(kind=backfeed.POLL_COMMENTS)]
    assert 40 == len(starts)
    assert all(
        until - timedelta(seconds=1) <= start <= until + timedelta(seconds=61) for start in starts
    )
    assert max(starts) - min(starts) > timedelta(seconds=20)


async def test_high_usage_postpones_the_poll_without_counting(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """A poll whose call worked but showed usage at 95% pauses the account and waits for the
    pause to end; the attempt does not count."""
    await Job.filter(kind="instagram.poll").update(run_at=job_queue.utcnow())
    fake.set_usage(95, regain_minutes=5)
    assert await worker(settings, http).run_once()
    polls = await Job.filter(kind="instagram.poll", state=JobState.QUEUED, attempts=0)
    assert any("usage at 95%" in (job.last_error or "") for job in polls)
    assert (await InstagramAccount.get(id=connected.id)).paused_until is not None


async def test_rate_limited_call_counts_an_attempt(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A call Instagram refused with a rate limit was made: that attempt counts."""
    media = await copied_media(fake)
    job = await job_queue.enqueue(backfeed.POLL_COMMENTS, {"media_id": media.media_id}, key="p")
    fake.fail_next(1, status=400, error_code=80002, retry_after=60)
    assert await worker(settings, http).run_once()
    row = await Job.get(id=job.id)
    assert (JobState.QUEUED, 1) == (row.state, row.attempts)
