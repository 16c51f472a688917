"""Crash recovery of the Instagram copy and first-comment claims, in-process.

The claims last the worker's job lease (`HEARTH_JOB_LEASE_SECONDS`): a worker killed while it
copies a media or posts its first comment holds that work up as long as the queue holds up
its job, no longer, and never long enough for a second worker to run it twice meanwhile. A
copy claim also records its process, and is taken over at once when that one is provably
gone; so does a first-comment claim (test_comment_holder.py).
The served `kill -9` tests (test_served.py, test_comment_crash_served.py) show the same
from the outside.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import JobContext
from hearth.server.core.models import Job, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import comments, poll
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia
from tests.syndication.instagram.instagram_setup import copied_media, ours

LEASE = 60


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


@pytest.fixture(name="leased")
def leased_fixture(settings: Settings) -> Settings:
    return dataclasses.replace(settings, job_lease_seconds=LEASE)


async def connect(fake: FakeInstagram) -> None:
    await InstagramAccount.create(
        user_id=fake.user_id, username=fake.username, access_token=fake.token
    )


async def crashed_copy(fake: FakeInstagram, claimed_seconds_ago: float) -> str:
    """A media whose copy a poller claimed that long ago and then died."""
    media_id = fake.add_media("IMAGE", caption="Interrupted")
    claimed = datetime.now(UTC) - timedelta(seconds=claimed_seconds_ago)
    await InstagramMedia.create(media_id=media_id, copy_state="copying")
    await InstagramMedia.filter(media_id=media_id).update(updated_at=claimed)
    return media_id


async def test_copy_claim_is_held_for_the_job_lease(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A dead poller's copy claim younger than the job lease is left alone."""
    await connect(fake)
    media_id = await crashed_copy(fake, claimed_seconds_ago=LEASE - 10)
    assert 0 == (await poll.poll_once(leased, http)).copied
    assert "copying" == (await InstagramMedia.get(media_id=media_id)).copy_state


async def test_copy_claim_older_than_the_job_lease_is_taken_over(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Once the job lease has passed, the next poll copies the media, once."""
    await connect(fake)
    media_id = await crashed_copy(fake, claimed_seconds_ago=LEASE + 1)
    assert 1 == (await poll.poll_once(leased, http)).copied
    assert 0 == (await poll.poll_once(leased, http)).copied
    assert 1 == await Post.filter(instagram_media__media_id=media_id).count()


def _killed_process() -> str:
    """The recorded `ProcessId` of a process that ran on this host and was killed."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    here = job_queue.this_process()
    ticks = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()[19]
    holder = job_queue.ProcessId(here.host, process.pid, f"{here.machine}:{ticks}")
    process.kill()
    process.wait()
    return str(holder)


async def test_copy_claim_of_a_dead_process_is_taken_over_at_once(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A claim whose recorded copier is provably gone (kill -9) does not wait for the lease."""
    if job_queue.this_process().machine is None:
        pytest.skip("process starts are read from Linux's /proc")
    await connect(fake)
    media_id = await crashed_copy(fake, claimed_seconds_ago=1)
    await InstagramMedia.filter(media_id=media_id).update(copy_holder=_killed_process())
    assert 1 == (await poll.poll_once(leased, http)).copied
    assert 1 == await Post.filter(instagram_media__media_id=media_id).count()


async def test_copy_claim_of_a_living_process_waits_for_the_lease(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """This process holds it (a slow copier as far as anyone can tell): left alone."""
    await connect(fake)
    media_id = await crashed_copy(fake, claimed_seconds_ago=1)
    holder = str(job_queue.this_process())
    await InstagramMedia.filter(media_id=media_id).update(copy_holder=holder)
    assert 0 == (await poll.poll_once(leased, http)).copied
    assert "copying" == (await InstagramMedia.get(media_id=media_id)).copy_state


async def test_copy_claim_is_renewed_after_each_file(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each downloaded file of a carousel restarts the claim's lease."""
    await connect(fake)
    fake.add_media("CAROUSEL_ALBUM", caption="Slow", children=("IMAGE",) * 3)
    renewed: list[datetime] = []
    original = poll._renew

    async def recording(media_id: str) -> bool:
        held = await original(media_id)
        renewed.append((await InstagramMedia.get(media_id=media_id)).updated_at)
        return held

    monkeypatch.setattr(poll, "_renew", recording)
    assert 1 == (await poll.poll_once(leased, http)).copied
    assert 3 == len(renewed)
    assert renewed == sorted(renewed)


async def test_copy_stops_when_another_poller_finished_it(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poller that finds the copy done by another (its claim expired) makes no second post."""
    await connect(fake)
    media_id = fake.add_media("CAROUSEL_ALBUM", caption="Raced", children=("IMAGE",) * 2)
    original = poll._renew

    async def overtaken(media_id: str) -> bool:
        await InstagramMedia.filter(media_id=media_id).update(copy_state="copied")
        return await original(media_id)

    monkeypatch.setattr(poll, "_renew", overtaken)
    assert 0 == (await poll.poll_once(leased, http)).copied
    assert 0 == await Post.filter(instagram_media__media_id=media_id).count()


async def test_poll_queues_a_lost_first_comment_job(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A crash between the copy and queueing its first comment: the next poll queues it."""
    await connect(fake)
    await InstagramAccount.all().update(created_at=datetime.now(UTC) - timedelta(hours=1))
    fake.add_media("IMAGE", caption="Copied, then the worker died")
    assert 1 == (await poll.poll_once(leased, http)).copied
    await Job.filter(kind=comments.KIND).delete()  # as if the worker died before queueing it
    await poll.poll_once(leased, http)
    assert 1 == await Job.filter(kind=comments.KIND).count()


async def test_comment_claim_younger_than_the_lease_waits_for_its_rest(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A held claim makes the job retry when it would expire, and posts nothing meanwhile."""
    media = await copied_media(fake)
    taken = time.time() - 20
    await InstagramMedia.filter(media_id=media.media_id).update(comment_id=f"posting:{taken:.0f}")
    job = await comments.schedule_first_comment(leased, media)
    assert job is not None
    with pytest.raises(job_queue.Retry) as raised:
        await comments.first_comment(JobContext(leased, http, job), {"media_id": media.media_id})
    assert raised.value.retry_after is not None
    assert LEASE - 25 <= raised.value.retry_after <= LEASE - 15
    assert [] == ours(fake, media.media_id)


async def test_comment_claim_older_than_the_lease_is_taken_over_and_adopts(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A worker died after posting but before saving the id: the next run adopts that comment."""
    media = await copied_media(fake)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    posted = fake.add_comment(
        media.media_id, comments.comment_text(leased, post.short_code), username=fake.username
    )
    stale = time.time() - LEASE - 5
    await InstagramMedia.filter(media_id=media.media_id).update(comment_id=f"posting:{stale:.0f}")
    job = await comments.schedule_first_comment(leased, media)
    assert job is not None
    await comments.first_comment(JobContext(leased, http, job), {"media_id": media.media_id})
    await media.refresh_from_db()
    assert posted == media.comment_id
    assert 1 == len(ours(fake, media.media_id))


async def test_comment_claim_taken_over_meanwhile_posts_nothing(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose claim was taken over while it listed comments does not post."""
    media = await copied_media(fake)
    job = await comments.schedule_first_comment(leased, media)
    assert job is not None
    original = comments._adopt

    async def slow_adopt(*args: object) -> str | None:
        found = await original(*args)  # type: ignore[arg-type]
        # Meanwhile another worker took the (expired) claim over.
        await InstagramMedia.filter(media_id=media.media_id).update(comment_id="posting:1")
        return found

    monkeypatch.setattr(comments, "_adopt", slow_adopt)
    with pytest.raises(job_queue.Retry):
        await comments.first_comment(JobContext(leased, http, job), {"media_id": media.media_id})
    assert [] == ours(fake, media.media_id)
    # The other worker's claim is not clobbered by our release.
    assert "posting:1" == (await InstagramMedia.get(media_id=media.media_id)).comment_id


async def slow_post_meanwhile(
    monkeypatch: pytest.MonkeyPatch, media: InstagramMedia, *, delete_copy: bool
) -> None:
    """Instagram answers the comment POST only after the claim ran out and another job (a
    retraction, if `delete_copy`) took it over and cleared the stored comment."""
    original = InstagramClient.create_comment

    async def slow_create(self: InstagramClient, media_id: str, message: str) -> str:
        comment_id = await original(self, media_id, message)
        if delete_copy:
            await Post.filter(id=media.post_id).update(deleted_at=datetime.now(UTC))  # type: ignore[attr-defined]
        await InstagramMedia.filter(media_id=media_id).update(comment_id=None)
        return comment_id

    monkeypatch.setattr(InstagramClient, "create_comment", slow_create)


async def test_comment_posted_after_its_copy_was_deleted_is_taken_back(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retraction could not see a comment still being posted: the poster deletes it."""
    media = await copied_media(fake)
    job = await comments.schedule_first_comment(leased, media)
    assert job is not None
    await slow_post_meanwhile(monkeypatch, media, delete_copy=True)
    await comments.first_comment(JobContext(leased, http, job), {"media_id": media.media_id})
    assert [] == ours(fake, media.media_id)
    assert (await InstagramMedia.get(media_id=media.media_id)).comment_id is None


async def test_comment_posted_after_the_claim_ran_out_is_adopted_next_time(
    leased: Settings, http: httpx.AsyncClient, fake: FakeInstagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the copy still live, the late comment is kept and adopted by the retry, not doubled."""
    media = await copied_media(fake)
    job = await comments.schedule_first_comment(leased, media)
    assert job is not None
    await slow_post_meanwhile(monkeypatch, media, delete_copy=False)
    with pytest.raises(job_queue.Retry):
        await comments.first_comment(JobContext(leased, http, job), {"media_id": media.media_id})
    monkeypatch.undo()
    await comments.first_comment(JobContext(leased, http, job), {"media_id": media.media_id})
    [posted] = [c.id for c in fake.comments.values() if c.username == fake.username]
    assert posted == (await InstagramMedia.get(media_id=media.media_id)).comment_id
