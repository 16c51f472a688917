"""The citation comment follows its copy: deleted with it, posted again on undelete.

Deleting a comment: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment;
errors: https://developers.facebook.com/docs/graph-api/guides/error-handling. Posts
are deleted and undeleted through the real Micropub endpoint; Instagram is the fake over
real HTTP.
"""

from __future__ import annotations

import time

import httpx
import pytest

from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import comments, poll, retract
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia
from hearth.wiring import job_handlers
from tests.micropub.endpoint_helpers import bearer, create, post_form, post_json
from tests.syndication.instagram.instagram_setup import copied_media, fake_media, ours, run_jobs


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def commented_copy(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> tuple[InstagramMedia, str]:
    """A copied media whose first comment is posted; with its own-site URL."""
    media = await copied_media(fake)
    await comments.schedule_first_comment(settings, media)
    await run_jobs(settings, http)
    await media.refresh_from_db()
    assert media.comment_id in fake.comments
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    return media, settings.absolute(post.path)


async def micropub(client: httpx.AsyncClient, action: str, url: str) -> None:
    response = await post_form(client, f"action={action}&url={url}", await bearer())
    assert 204 == response.status_code, response.text


def deletes(fake: FakeInstagram) -> int:
    return sum(1 for method, _ in fake.requests if method == "DELETE")


def comment_posts(fake: FakeInstagram) -> int:
    return sum(1 for method, path in fake.requests if (method, path[-9:]) == ("POST", "/comments"))


async def retraction_job() -> Job:
    return await Job.get(kind=retract.KIND)


async def test_delete_removes_our_comment_and_only_ours(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Deleting the copy deletes our citation on Instagram; a friend's comment stays."""
    media, url = await commented_copy(settings, http, fake)
    friend = fake.add_comment(media.media_id, "Lovely colours", username="friend")
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    assert [] == ours(fake, media.media_id)
    assert friend in fake.comments
    await media.refresh_from_db()
    assert (None, None) == (media.comment_id, media.comment_short_code)


async def test_replayed_job_deletes_once(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Running the job again after it succeeded (a worker died before `complete`) is a no-op."""
    media, url = await commented_copy(settings, http, fake)
    friend = fake.add_comment(media.media_id, "Nice", username="friend")
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    job = await retraction_job()
    payload = {"media_id": media.media_id}
    await retract.delete_comment(JobContext(settings, http, job), payload)
    await retract.delete_comment(JobContext(settings, http, job), payload)
    assert 1 == deletes(fake)
    assert friend in fake.comments


async def test_comment_already_deleted_on_instagram_counts_as_done(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Instagram answering "does not exist" to the DELETE finishes the job, not fails it."""
    media, url = await commented_copy(settings, http, fake)
    fake.delete_comment(str(media.comment_id))  # the owner deleted it in the app
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    job = await retraction_job()
    assert (JobState.DONE, 1) == (job.state, job.attempts)
    assert 1 == deletes(fake)  # asked, and told it is gone
    await media.refresh_from_db()
    assert media.comment_id is None


async def test_undelete_posts_a_new_citation_once(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """After delete and undelete there is exactly one citation again, a new comment;
    later edits and a repeated undelete post no more."""
    media, url = await commented_copy(settings, http, fake)
    first = media.comment_id
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    await micropub(client, "undelete", url)
    await run_jobs(settings, http)
    await micropub(client, "undelete", url)
    edit = {"action": "update", "url": url, "replace": {"content": ["Sunset, edited"]}}
    assert 204 == (await post_json(client, edit, await bearer())).status_code
    await run_jobs(settings, http)
    assert [f"Also on my website (example.test s/{post.short_code})"] == ours(fake, media.media_id)
    await media.refresh_from_db()
    assert media.comment_id in fake.comments
    assert first != media.comment_id


async def test_undelete_before_the_job_runs_keeps_the_comment(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Deleted and restored before the worker got to it: the same comment stays, no calls."""
    media, url = await commented_copy(settings, http, fake)
    calls = len(fake.requests)
    await micropub(client, "delete", url)
    await micropub(client, "undelete", url)
    await run_jobs(settings, http)
    assert calls == len(fake.requests)
    assert [media.comment_id] == [
        c.id for c in fake.comments.values() if c.username == fake.username
    ]


async def test_deleted_copy_gets_no_first_comment_until_undeleted(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A copy deleted before its first comment was posted gets none; its undelete posts it."""
    media = await copied_media(fake)
    await comments.schedule_first_comment(settings, media)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    url = settings.absolute(post.path)
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    assert 0 == comment_posts(fake)
    await micropub(client, "undelete", url)
    await run_jobs(settings, http)
    assert 1 == len(ours(fake, media.media_id))


async def test_waits_for_a_first_comment_being_posted(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """While a first-comment job holds the claim the deletion waits, then deletes its result."""
    media = await copied_media(fake)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    await comments.schedule_first_comment(settings, media)
    # Another worker is mid-post: the claim is fresh and its comment exists on Instagram.
    claim = f"{comments.CLAIM_PREFIX}{time.time():.0f}"
    await InstagramMedia.filter(media_id=media.media_id).update(comment_id=claim)
    text = comments.comment_text(settings, post.short_code)
    posted = fake.add_comment(media.media_id, text, username=fake.username)
    await micropub(client, "delete", settings.absolute(post.path))
    await Job.filter(kind=comments.KIND).update(state=JobState.DONE)  # it is the other worker
    worker = Worker(settings, job_handlers(), http=http)
    while await worker.run_once():
        pass
    job = await retraction_job()
    assert (JobState.QUEUED, 1) == (job.state, job.attempts)
    assert posted in fake.comments
    # The other worker finishes and stores its comment; the deletion then takes it back.
    await InstagramMedia.filter(media_id=media.media_id).update(
        comment_id=posted, comment_short_code=post.short_code
    )
    await run_jobs(settings, http)
    assert posted not in fake.comments
    assert JobState.DONE == (await retraction_job()).state


async def test_bad_token_stops_the_job_and_marks_the_account(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """An expired token: the job dies, the account says reconnect, the comment id is kept."""
    media, url = await commented_copy(settings, http, fake)
    fake.expire_token()
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    job = await retraction_job()
    assert JobState.DEAD == job.state
    assert "Reconnect Instagram" in (job.last_error or "")
    assert "expired" == (await InstagramAccount.get()).token_state
    stored = media.comment_id
    await media.refresh_from_db()
    assert stored == media.comment_id
    assert stored in fake.comments


async def test_post_that_is_not_an_instagram_copy_queues_no_instagram_job(
    client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Deleting and undeleting an ordinary post queues no Instagram work."""
    headers = await bearer()
    url = await create(client, headers, {"content": ["Just a note"]})
    await micropub(client, "delete", url)
    await micropub(client, "undelete", url)
    assert 0 == await Job.filter(kind__startswith="instagram.").count()


async def test_copy_that_never_had_a_citation_queues_nothing(
    settings: Settings, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A history import (no first comment) gets no deletion, nor a comment on undelete."""
    media = await copied_media(fake)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    await micropub(client, "delete", settings.absolute(post.path))
    await micropub(client, "undelete", settings.absolute(post.path))
    assert 0 == await Job.filter(kind__startswith="instagram.").count()


async def test_caption_edit_polled_for_a_deleted_copy_keeps_it_deleted(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A poll that brings an edited caption leaves the deleted copy deleted, uncommented."""
    media, url = await commented_copy(settings, http, fake)
    await InstagramMedia.filter(media_id=media.media_id).update(copy_state="copied")
    await micropub(client, "delete", url)
    await run_jobs(settings, http)
    fake_media(fake, media.media_id).caption = "Sunset over the bay, edited"
    await poll.poll_once(settings, http)
    await run_jobs(settings, http)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    assert "edited" not in str(post.properties["content"])  # a deleted copy is left as it was
    assert 410 == (await client.get(url)).status_code
    assert [] == ours(fake, media.media_id)
