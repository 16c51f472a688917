"""Comment backfeed from the fake Instagram over real HTTP, shown on the own-site permalink.

Comments and replies: https://developers.facebook.com/docs/instagram-platform/reference/instagram-media
and https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment;
the comments webhook: https://developers.facebook.com/docs/instagram-platform/webhooks. Our own
citation comment is never backfed; likes are only counted (`like_count`: Instagram lists no
likers).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import mf2py
import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Approval, Interaction, InteractionState, Job, JobState, Post
from hearth.server.core.settings import Settings
from hearth.server.webmention import moderation
from hearth.syndication.instagram import backfeed, comments
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.silo_settings import with_instagram
from hearth.syndication.instagram.tables import CopyState, InstagramAccount, InstagramMedia
from hearth.wiring import job_handlers
from tests.syndication.instagram.instagram_setup import copied_media, run_jobs


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def shown_comments(client: httpx.AsyncClient, media: InstagramMedia) -> list[dict[str, Any]]:
    """The `comment` h-cites of the post's h-entry, as mf2py parses the permalink."""
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    page = await client.get(post.path)
    assert 200 == page.status_code
    parsed = mf2py.parse(doc=page.text, url=str(page.url))
    entry = next(i for i in parsed["items"] if "h-entry" in i["type"])
    found: list[dict[str, Any]] = entry["properties"].get("comment", [])
    return found


def text_of(cite: dict[str, Any]) -> str:
    content = cite["properties"].get("content") or [""]
    value = content[0]
    return str(value["value"] if isinstance(value, dict) else value).strip()


async def poll(settings: Settings, http: httpx.AsyncClient, media: InstagramMedia) -> None:
    """Queue a comment poll of `media` due now and run it."""
    await Job.filter(kind=backfeed.POLL_COMMENTS).delete()
    key = f"test:{datetime.now(UTC).timestamp()}"
    await job_queue.enqueue(backfeed.POLL_COMMENTS, {"media_id": media.media_id}, key=key)
    await run_jobs(settings, http)


async def deliver(client: httpx.AsyncClient, fake: FakeInstagram, comment_id: str) -> None:
    body, signature = fake.signed_webhook(fake.webhook_payload(comment_id))
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
    response = await client.post("syndication/instagram/webhook", content=body, headers=headers)
    assert 200 == response.status_code


async def test_comment_and_reply_by_webhook_show_threaded(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A webhook comment and a reply to it show as a reply with a nested reply."""
    media = await copied_media(fake)
    top = fake.add_comment(media.media_id, "Gorgeous light!", username="friend")
    reply = fake.add_comment(media.media_id, "@friend thanks!", username="other", parent_id=top)
    await deliver(client, fake, top)
    await deliver(client, fake, reply)
    await run_jobs(settings, http)
    [shown] = await shown_comments(client, media)
    assert "Gorgeous light!" == text_of(shown)
    author = shown["properties"]["author"][0]["properties"]
    assert ["https://www.instagram.com/friend/"] == author["url"]
    assert [f"{media.permalink}#comment-{top}"] == shown["properties"]["url"]
    [nested] = shown["properties"]["comment"]
    assert "@friend thanks!" == text_of(nested)
    # Stored from the webhook payloads alone: no comment listing was needed.
    assert not [path for _, path in fake.requests if path.endswith("/comments")]


async def test_comment_and_reply_by_poll_show_threaded(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Without webhooks, a poll backfeeds the comment and threads the reply under it."""
    media = await copied_media(fake)
    top = fake.add_comment(media.media_id, "Where is this?", username="friend")
    fake.add_comment(media.media_id, "Brighton", username="other", parent_id=top)
    await poll(settings, http, media)
    [shown] = await shown_comments(client, media)
    assert "Where is this?" == text_of(shown)
    assert ["Brighton"] == [text_of(c) for c in shown["properties"]["comment"]]
    row = await Interaction.get(external_id=top)
    assert ("instagram", "reply", "instagram.com/friend") == (row.origin, row.kind, row.domain)


async def test_edited_comment_updates(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """An edit on Instagram replaces the text on the next poll; still one response."""
    media = await copied_media(fake)
    top = fake.add_comment(media.media_id, "Nice pic", username="friend")
    await poll(settings, http, media)
    fake.edit_comment(top, "Nice picture!")
    await poll(settings, http, media)
    assert ["Nice picture!"] == [text_of(c) for c in await shown_comments(client, media)]
    assert 1 == await Interaction.filter(external_id=top).count()


async def test_deleted_comment_disappears(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A comment gone from Instagram is marked deleted and no longer shown."""
    media = await copied_media(fake)
    top = fake.add_comment(media.media_id, "Oops", username="friend")
    fake.add_comment(media.media_id, "Stays", username="other")
    await poll(settings, http, media)
    fake.delete_comment(top)
    await poll(settings, http, media)
    assert ["Stays"] == [text_of(c) for c in await shown_comments(client, media)]
    assert InteractionState.DELETED == (await Interaction.get(external_id=top)).state


async def test_own_citation_comment_is_never_backfed(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Hearth's first comment shows up neither by poll nor by webhook."""
    media = await copied_media(fake)
    await comments.schedule_first_comment(settings, media)
    await run_jobs(settings, http)
    await media.refresh_from_db()
    assert media.comment_id is not None
    await deliver(client, fake, media.comment_id)
    await poll(settings, http, media)
    assert [] == await shown_comments(client, media)
    assert 0 == await Interaction.filter(origin="instagram").count()


async def test_like_count_is_stored(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A comment poll stores like_count; `instagram_likes` gives it with the permalink."""
    media = await copied_media(fake, like_count=42)
    await poll(settings, http, media)
    await media.refresh_from_db()
    assert 42 == media.like_count
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    assert (42, media.permalink) == await backfeed.instagram_likes(post)


async def test_like_count_shows_on_the_permalink(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """The permalink says "N likes on Instagram", linked to the Instagram copy."""
    media = await copied_media(fake, like_count=7)
    await poll(settings, http, media)
    await media.refresh_from_db()
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    page = (await client.get(post.path)).text
    assert f'<a href="{media.permalink}">7 likes on Instagram</a>' in page


async def test_rate_limit_then_recovery_backfeeds_once(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A 429 (code 4) and a 500 make the poll wait; afterwards each comment is stored once."""
    media = await copied_media(fake)
    top = fake.add_comment(media.media_id, "Hello", username="friend")
    fake.fail_next(1, status=429, error_code=4, retry_after=1)
    fake.fail_next(1, status=500)
    await poll(settings, http, media)
    assert 1 == await Interaction.filter(external_id=top, state=InteractionState.ACCEPTED).count()


async def test_poll_queues_the_next_slot(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """After a poll the next one is queued about ten minutes out for a new media."""
    media = await copied_media(fake)
    await poll(settings, http, media)
    [queued] = await Job.filter(kind=backfeed.POLL_COMMENTS, state=JobState.QUEUED)
    delay = queued.run_at - datetime.now(UTC)
    assert timedelta(0) < delay <= timedelta(minutes=10)
    assert 1 == await backfeed.schedule_comment_polls(settings)
    assert 1 == await Job.filter(kind=backfeed.POLL_COMMENTS, state=JobState.QUEUED).count()


async def test_first_day_polls_follow_the_comment_poll_setting(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """`HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS` sets how soon a new media's next poll is due."""
    settings = with_instagram(settings, comment_poll_seconds=30)
    media = await copied_media(fake)
    await poll(settings, http, media)
    [queued] = await Job.filter(kind=backfeed.POLL_COMMENTS, state=JobState.QUEUED)
    assert timedelta(0) < queued.run_at - datetime.now(UTC) <= timedelta(seconds=30)


def test_schedule_decays() -> None:
    """Every 10 min on day one, hourly for a week, daily for a month, weekly, then never."""
    assert timedelta(minutes=10) == backfeed.interval_for(timedelta(hours=3))
    assert timedelta(hours=1) == backfeed.interval_for(timedelta(days=3))
    assert timedelta(days=1) == backfeed.interval_for(timedelta(days=20))
    assert timedelta(days=7) == backfeed.interval_for(timedelta(days=100))
    assert backfeed.interval_for(timedelta(days=400)) is None


async def test_known_moderation_is_per_instagram_user(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Under `known`, a user's first comment waits; once approved, their next one shows."""
    known = dataclasses.replace(settings, moderation="known")
    media = await copied_media(fake)
    first = fake.add_comment(media.media_id, "First!", username="friend")
    await poll(known, http, media)
    row = await Interaction.get(external_id=first)
    assert Approval.WAITING == row.approval
    await moderation.set_approval(row, Approval.APPROVED)
    second = fake.add_comment(media.media_id, "Again", username="friend")
    stranger = fake.add_comment(media.media_id, "Hi", username="stranger")
    await poll(known, http, media)
    assert Approval.APPROVED == (await Interaction.get(external_id=second)).approval
    assert Approval.WAITING == (await Interaction.get(external_id=stranger)).approval


async def test_rate_limit_on_a_comment_poll_pauses_the_account(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A 429 while polling comments pauses all Instagram work, as it does for media polls."""
    media = await copied_media(fake)
    fake.fail_next(1, status=429, error_code=4, retry_after=120)
    await job_queue.enqueue(backfeed.POLL_COMMENTS, {"media_id": media.media_id}, key="pause-test")
    await Worker(settings, job_handlers(), http=http).run_once()
    account = await InstagramAccount.get()
    assert account.paused_until is not None and account.paused_until > datetime.now(UTC)


async def test_deleted_copy_gets_no_comments(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Comments on the Instagram media of a deleted copy are not stored (nor queued for
    moderation), and its comment polls stop until it is undeleted."""
    media = await copied_media(fake)
    await Post.filter(id=media.post_id).update(deleted_at=datetime.now(UTC))  # type: ignore[attr-defined]
    fake.add_comment(media.media_id, "Still here?", username="friend")
    await poll(settings, http, media)
    assert 0 == await Interaction.filter(origin="instagram").count()
    assert 0 == await backfeed.schedule_comment_polls(settings)


async def test_comment_hidden_on_instagram_is_not_shown(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A comment the owner hid in the Instagram app stays hidden on the copy."""
    media = await copied_media(fake)
    rude = fake.add_comment(media.media_id, "Rude words", username="troll")
    fake.add_comment(media.media_id, "Lovely", username="friend")
    fake.comments[rude].hidden = True
    await poll(settings, http, media)
    assert ["Lovely"] == [text_of(c) for c in await shown_comments(client, media)]
    assert Approval.HIDDEN == (await Interaction.get(external_id=rude)).approval


async def test_media_deleted_on_instagram_stops_its_comment_polls(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Once Instagram says the media does not exist, it is marked gone, its comments stay
    shown as they were, and no more comment polls are queued for it."""
    media = await copied_media(fake)
    fake.add_comment(media.media_id, "Said before", username="friend")
    await poll(settings, http, media)
    fake.media = [m for m in fake.media if m.id != media.media_id]
    await poll(settings, http, media)
    assert CopyState.GONE == (await InstagramMedia.get(media_id=media.media_id)).copy_state
    assert ["Said before"] == [text_of(c) for c in await shown_comments(client, media)]
    assert 0 == await backfeed.schedule_comment_polls(settings)
    assert 0 == await Job.filter(kind=backfeed.POLL_COMMENTS, state=JobState.DEAD).count()
