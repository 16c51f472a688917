"""The first-comment claim after a crash: taken over at once from a provably dead holder.

A `posting:` claim in `InstagramMedia.comment_id` records the process holding it
(`comment_holder`, a `job_queue.ProcessId`). A later attempt takes it over as soon as that
process is provably gone (`kill -9`: same host, its pid free or another process's), instead
of waiting out `HEARTH_JOB_LEASE_SECONDS`; but never while the holder lives, and, if the holder
may have sent its POST, only once that POST could have been answered, and then by listing
the media's comments first: never two comments on Instagram. In-process, against the fake
Instagram over real HTTP; `test_comment_crash_served.py` shows it with a real `hearth serve`.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import JobContext
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import comments
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramMedia
from tests.syndication.instagram.instagram_setup import copied_media, ours

LEASE = 60

pytestmark = pytest.mark.skipif(
    job_queue.this_process().machine is None, reason="process starts are read from Linux's /proc"
)


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    """A one-minute job lease, well above the 20 s a sent POST is given to settle (twice the
    10 s HTTP timeout)."""
    return dataclasses.replace(instagram_settings, job_lease_seconds=LEASE, http_timeout=10.0)


def process_id(process: subprocess.Popen[bytes]) -> str:
    """The `ProcessId` a claim taken by `process` (on this host) would record."""
    here = job_queue.this_process()
    ticks = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()[19]
    return str(job_queue.ProcessId(here.host, process.pid, f"{here.machine}:{ticks}"))


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


@pytest.fixture(name="dead")
def dead_fixture() -> str:
    """The recorded holder of a process that ran here and was killed (`kill -9`)."""
    process = sleeper()
    holder = process_id(process)
    process.kill()
    process.wait()
    return holder


@pytest.fixture(name="living")
def living_fixture() -> Iterator[str]:
    """The recorded holder of another process that is alive (a slow worker, for all we know)."""
    process = sleeper()
    try:
        yield process_id(process)
    finally:
        process.kill()
        process.wait()


async def held(
    fake: FakeInstagram, holder: str, *, seconds_ago: float = 1, sent: bool = False
) -> InstagramMedia:
    """A copied media whose first-comment claim `holder` took `seconds_ago` (and, if `sent`,
    renewed right before its POST)."""
    media = await copied_media(fake)
    marker = f"{comments.CLAIM_PREFIX}{time.time() - seconds_ago:.0f}:0badc0de"
    marker += f":{comments.SENT}" if sent else ""
    await InstagramMedia.filter(media_id=media.media_id).update(
        comment_id=marker, comment_holder=holder
    )
    await media.refresh_from_db()
    return media


async def run_job(settings: Settings, http: httpx.AsyncClient, media: InstagramMedia) -> None:
    """One attempt of the media's first-comment job, as a worker of this process runs it."""
    job = await comments.schedule_first_comment(settings, media)
    assert job is not None
    await comments.first_comment(JobContext(settings, http, job), {"media_id": media.media_id})


async def our_comment(fake: FakeInstagram, settings: Settings, media: InstagramMedia) -> str:
    """Our citation comment, already on Instagram (posted by a holder that then died)."""
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    text = comments.comment_text(settings, post.short_code)
    return fake.add_comment(media.media_id, text, username=fake.username)


async def stored(media: InstagramMedia) -> tuple[str | None, str | None]:
    """(comment_id, comment_holder) as stored now."""
    await media.refresh_from_db()
    return media.comment_id, media.comment_holder


async def test_claim_of_a_dead_process_is_taken_over_at_once(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, dead: str
) -> None:
    """Killed while it listed the comments (before its POST): the next attempt does not wait
    for the lease, posts the comment, and exactly one is on Instagram."""
    media = await held(fake, dead)
    await run_job(settings, http, media)
    [posted] = [c.id for c in fake.comments.values() if c.username == fake.username]
    assert (posted, None) == await stored(media)
    assert 1 == len(ours(fake, media.media_id))


@pytest.mark.parametrize("who", ["this process", "another living process"])
async def test_claim_of_a_living_process_waits_for_the_lease(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, living: str, who: str
) -> None:
    """A living holder, however slow, keeps its claim until the lease ends: nothing posted,
    and the job comes back when the lease would run out."""
    holder = str(job_queue.this_process()) if who == "this process" else living
    media = await held(fake, holder, seconds_ago=5)
    with pytest.raises(job_queue.Retry) as raised:
        await run_job(settings, http, media)
    assert raised.value.retry_after is not None
    assert LEASE - 10 <= raised.value.retry_after <= LEASE
    assert [] == ours(fake, media.media_id)
    assert holder == (await stored(media))[1]


async def test_claim_on_another_host_waits_for_the_lease(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, dead: str
) -> None:
    """The same pid on another machine says nothing about that machine's process."""
    parsed = job_queue.ProcessId.parse(dead)
    assert parsed is not None
    media = await held(fake, str(dataclasses.replace(parsed, host="elsewhere")))
    with pytest.raises(job_queue.Retry):
        await run_job(settings, http, media)
    assert [] == ours(fake, media.media_id)


async def test_dead_holder_whose_comment_landed_is_adopted_not_doubled(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, dead: str
) -> None:
    """The marker says its POST went out, and Instagram has our comment (the holder died
    before storing the id): the take-over adopts it and posts nothing."""
    settled = comments.post_settle_seconds(settings) + 1
    media = await held(fake, dead, seconds_ago=settled, sent=True)
    posted = await our_comment(fake, settings, media)
    await run_job(settings, http, media)
    assert (posted, None) == await stored(media)
    assert 1 == len(ours(fake, media.media_id))
    assert 1 == len(fake.comments)


async def test_dead_holder_right_after_its_post_waits_for_the_post_to_settle(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, dead: str
) -> None:
    """Killed just after its POST began: that comment may still land on Instagram, so the
    claim is taken over only once the POST could have been answered (well before the
    lease), and then the late comment is adopted: one comment."""
    media = await held(fake, dead, seconds_ago=1, sent=True)
    with pytest.raises(job_queue.Retry) as raised:
        await run_job(settings, http, media)
    settle = comments.post_settle_seconds(settings)
    assert raised.value.retry_after is not None
    assert settle - 3 <= raised.value.retry_after <= settle < LEASE
    assert [] == ours(fake, media.media_id)
    # The dead holder's POST lands after all; then its time is up.
    posted = await our_comment(fake, settings, media)
    await InstagramMedia.filter(media_id=media.media_id).update(
        comment_id=f"{comments.CLAIM_PREFIX}{time.time() - settle - 1:.0f}:0badc0de:sent"
    )
    await media.refresh_from_db()
    await run_job(settings, http, media)
    assert (posted, None) == await stored(media)
    assert 1 == len(ours(fake, media.media_id))


async def test_claim_records_its_holder_and_says_when_the_post_goes_out(
    settings: Settings,
    http: httpx.AsyncClient,
    fake: FakeInstagram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the POST is under way the row names this process and the marker says `sent`;
    once the id is stored, no holder is left."""
    media = await copied_media(fake)
    seen: list[tuple[str | None, str | None]] = []
    original = InstagramClient.create_comment

    async def watched(self: InstagramClient, media_id: str, message: str) -> str:
        seen.append(await stored(media))
        return await original(self, media_id, message)

    monkeypatch.setattr(InstagramClient, "create_comment", watched)
    await run_job(settings, http, media)
    [(marker, holder)] = seen
    claim = comments.parse_claim(marker)
    assert claim is not None and claim.sent
    assert str(job_queue.this_process()) == holder
    comment_id, holder = await stored(media)
    assert comment_id in fake.comments
    assert holder is None


async def test_released_claim_clears_its_holder(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A failed attempt gives the claim back whole: no marker, no holder left to judge."""
    media = await copied_media(fake)
    fake.fail_next(1, status=500)
    with pytest.raises(Exception):  # noqa: B017 - whatever the worker makes of a 500
        await run_job(settings, http, media)
    assert (None, None) == await stored(media)


@pytest.mark.parametrize(
    ("age", "sent", "gone", "wait"),
    [
        (5, False, False, LEASE - 5),  # living: the lease
        (LEASE + 1, False, False, 0),  # the lease has run out
        (5, False, True, 0),  # dead before its POST: at once
        (5, True, True, 20 - 5),  # dead after its POST began: until it settled (2 x 10 s)
        (25, True, True, 0),  # ... which it has
        (5, True, False, LEASE - 5),  # a living holder's POST: the lease
    ],
)
def test_claim_wait(settings: Settings, age: int, sent: bool, gone: bool, wait: int) -> None:
    now = 1_800_000_000.0
    marker = f"{comments.CLAIM_PREFIX}{now - age:.0f}:0badc0de"
    marker += f":{comments.SENT}" if sent else ""
    assert wait == comments.claim_wait(settings, marker, holder_gone=gone, now=now)


def test_claims_are_unique_and_old_markers_still_read() -> None:
    """Two claims taken in one second differ (each is its own compare-and-set token); the
    `posting:<time>` of earlier versions reads as not sent."""
    assert comments.new_claim() != comments.new_claim()
    assert comments.Claim(1770000000.0, False) == comments.parse_claim("posting:1770000000")
    assert comments.parse_claim("17900000000000001") is None
