"""First comments on history copies, only when asked (`hearth instagram comment-history`)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import comments
from hearth.syndication.instagram.fake import FakeInstagram, serve_instagram
from hearth.syndication.instagram.history_comments import comment_history
from hearth.syndication.instagram.silo_settings import with_instagram
from hearth.syndication.instagram.tables import InstagramMedia
from tests.serving import ROOT, hearth_cli, hearth_env
from tests.syndication.instagram.instagram_setup import copied_media, ours, run_jobs
from tests.syndication.instagram.served_instagram import (
    connected_site,
    owner_comments,
    wait_for,
    wait_for_copy,
    wait_for_polls,
)


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


@pytest.fixture(autouse=True)
def database(app: Starlette) -> Starlette:
    """Every test here works on the app's database."""
    return app


async def history_copy(fake: FakeInstagram, *, days_old: int = 30) -> InstagramMedia:
    """A copy of a media posted `days_old` days before the account was connected."""
    media = await copied_media(fake)
    await InstagramMedia.filter(media_id=media.media_id).update(
        timestamp=datetime.now(UTC) - timedelta(days=days_old)
    )
    return await InstagramMedia.get(media_id=media.media_id)


async def queued_comments() -> list[Job]:
    return await Job.filter(kind=comments.KIND, state=JobState.QUEUED).order_by("run_at")


async def test_history_copies_get_their_comment_when_asked(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Asked, each history copy without a comment gets exactly one citation comment."""
    old = [await history_copy(fake, days_old=days) for days in (40, 30)]
    assert 2 == await comment_history(settings, spacing=timedelta(0))
    await run_jobs(settings, http)
    for media in old:
        post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
        assert [f"Also on my website (example.test s/{post.short_code})"] == ours(
            fake, media.media_id
        )


async def test_comments_are_spread_out_oldest_first(
    settings: Settings, fake: FakeInstagram
) -> None:
    """The comments are queued `spacing` apart, the oldest media first (no burst of spam)."""
    newer = await history_copy(fake, days_old=10)
    older = await history_copy(fake, days_old=90)
    await comment_history(settings, spacing=timedelta(minutes=2))
    first, second = await queued_comments()
    assert [older.media_id, newer.media_id] == [
        first.payload["media_id"],
        second.payload["media_id"],
    ]
    assert timedelta(minutes=2) == second.run_at - first.run_at


async def test_asking_twice_queues_nothing_more(settings: Settings, fake: FakeInstagram) -> None:
    """A second ask while the comments wait (or after) adds no job."""
    await history_copy(fake)
    assert 1 == await comment_history(settings)
    await comment_history(settings)
    assert 1 == await Job.filter(kind=comments.KIND).count()


async def test_new_commented_and_deleted_copies_are_left_out(
    settings: Settings, fake: FakeInstagram
) -> None:
    """Only history copies without a comment count: not new ones, not commented, not deleted."""
    await copied_media(fake)  # posted after the connection: the poller comments on it
    commented = await history_copy(fake)
    await InstagramMedia.filter(media_id=commented.media_id).update(comment_id="179000")
    deleted = await history_copy(fake)
    await Post.filter(id=deleted.post_id).update(deleted_at=datetime.now(UTC))  # type: ignore[attr-defined]
    assert 0 == await comment_history(settings)


async def test_refused_when_first_comments_are_off(settings: Settings, fake: FakeInstagram) -> None:
    """With HEARTH_INSTAGRAM_FIRST_COMMENT off nothing is queued, and the owner is told why."""
    await history_copy(fake)
    with pytest.raises(ValueError, match="HEARTH_INSTAGRAM_FIRST_COMMENT"):
        await comment_history(with_instagram(settings, first_comment=False))
    assert 0 == await Job.filter(kind=comments.KIND).count()


async def test_cli_shows_its_progress(settings: Settings, fake: FakeInstagram) -> None:
    """Not on a terminal, `hearth instagram comment-history` tells its progress in plain
    lines on stderr, ending with every history copy; stdout keeps the result."""
    for days in (40, 30, 20):
        await history_copy(fake, days_old=days)
    command = [sys.executable, "-m", "hearth.cli", "instagram", "comment-history", "--spacing", "0"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=hearth_env(settings.data_dir, settings.url), cwd=ROOT,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "queued 3/3 first comments" == done.stderr.splitlines()[-1]
    assert "on 3 Instagram posts" in done.stdout
    assert 3 == len(await queued_comments())


def test_cli_comments_on_history_of_a_served_site(tmp_path: Path, migrated_sqlite: Path) -> None:
    """End to end: an old Instagram post is copied without a comment; `hearth instagram
    comment-history` makes the running site post its short link there, once."""
    years_ago = datetime.now(UTC) - timedelta(days=400)
    with serve_instagram() as fake:
        old = fake.add_media("IMAGE", caption="Years ago", when=years_ago)
        with connected_site(tmp_path / "site", fake, migrated_sqlite) as site:
            url = wait_for_copy(site, old)["properties"]["url"][0]
            wait_for_polls(fake)
            assert [] == owner_comments(fake, old)
            output = hearth_cli(site.served.env, "instagram", "comment-history", "--spacing", "0")
            assert "on 1 Instagram posts" in output
            [comment] = wait_for(lambda: owner_comments(fake, old) or None, "the history comment")
            cited = re.search(r" s/(\w+)\)$", comment.text)
            assert cited is not None, comment.text
            short = httpx.get(f"{site.base}s/{cited.group(1)}", follow_redirects=False)
            assert (301, url) == (short.status_code, short.headers["location"])
