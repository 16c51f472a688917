"""The one rule for scheduled posts (`Post.is_scheduled`, `scheduled.has_appeared`), its
query cost, and how `events.post_changed` holds a scheduled post's changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import Tortoise

from hearth.server.core import events, timestamps
from hearth.server.core.events import PostChange, post_changed
from hearth.server.core.models import Job, Post
from hearth.server.core.post_access import Access, access_to, listed_for
from hearth.server.core.posts import create_post, public_posts
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.scheduled import (
    ANNOUNCE_KIND,
    announcement_key,
    has_appeared,
    last_shown_change,
)
from hearth.server.core.settings import Settings
from hearth.server.core.viewers import ANONYMOUS, Viewer

pytestmark = pytest.mark.usefixtures("db")

NOON = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
FRIEND = "https://friend.example/"


@pytest.fixture(name="heard")
def heard_fixture() -> Iterator[list[PostChange]]:
    """The changes the listeners are told of (one recording listener in their place)."""
    told: list[PostChange] = []

    async def record(change: PostChange) -> None:
        told.append(change)

    before = events.listeners()
    events.set_listeners([record])
    yield told
    events.set_listeners(before)


def at(moment: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the clock every visibility check reads."""
    monkeypatch.setattr(timestamps, "instant", lambda: moment)


async def test_is_scheduled_until_its_exact_time() -> None:
    """A published post is scheduled while its time is later than now, to the microsecond;
    at its time it is not; drafts never are."""
    post = await create_post({"content": ["later"]}, published=NOON)
    draft = await create_post({"content": ["draft"]}, published=NOON, status=Status.DRAFT)
    tick = timedelta(microseconds=1)
    assert post.is_scheduled(NOON - tick)
    assert not post.is_scheduled(NOON)
    assert not post.is_scheduled(NOON + tick)
    assert not draft.is_scheduled(NOON - tick)


async def test_public_flags_follow_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """`is_public` and `has_page` are false until the post's time, true from it."""
    post = await create_post({"content": ["later"]}, published=NOON)
    at(NOON - timedelta(seconds=1), monkeypatch)
    assert (False, False, True) == (post.is_public, post.has_page, post.is_scheduled())
    at(NOON, monkeypatch)
    assert (True, True, False) == (post.is_public, post.has_page, post.is_scheduled())


@pytest.mark.parametrize(
    ("published", "now", "listed"),
    [
        # Whole seconds and fractions mixed: SQLite compares the stored text, so this
        # checks that the text order is the time order at the boundary.
        (NOON, NOON, True),
        (NOON, NOON + timedelta(microseconds=500_000), True),
        (NOON + timedelta(microseconds=500_000), NOON, False),
        (NOON + timedelta(microseconds=500_000), NOON + timedelta(microseconds=499_999), False),
        (NOON + timedelta(microseconds=500_000), NOON + timedelta(microseconds=500_000), True),
        (NOON, NOON - timedelta(microseconds=1), False),
    ],
)
async def test_query_agrees_with_the_predicate(
    published: datetime, now: datetime, listed: bool
) -> None:
    """`has_appeared(now)` in the database lists exactly what `is_scheduled(now)` does not."""
    post = await create_post({"content": ["boundary"]}, published=published)
    assert listed == await Post.filter(has_appeared(now), id=post.id).exists()
    assert listed == (not post.is_scheduled(now))


@pytest.mark.one_store
async def test_public_listing_uses_the_posts_index() -> None:
    """The public list filtered by time is still one range scan of the posts index (no
    table scan, no sort): SQLite's plan for the home page's first page."""
    query = public_posts().order_by("-published", "-id").limit(20)
    connection = Tortoise.get_connection("default")
    plan = await connection.execute_query_dict(
        f"EXPLAIN QUERY PLAN {query.sql(params_inline=True)}"
    )
    details = " | ".join(str(row["detail"]) for row in plan)
    # One search of the (status, visibility, deleted_at, published) index, the time bound
    # a range on its last column, and the order the index's own (no temporary sort).
    assert "USING INDEX" in details and "published<" in details, details
    assert "TEMP B-TREE" not in details, details


async def test_page_access_before_and_after_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before its time only the owner sees the page (an audience member of a private one
    neither) and nobody has it listed; deleted before its time it never leaves a 410."""
    owner, friend = Viewer(me="https://example.test/", owner=True), Viewer(me=FRIEND)
    public = await create_post({"content": ["soon"]}, published=NOON)
    shared = await create_post(
        {"content": ["soon, for a friend"], "audience": [FRIEND]},
        published=NOON,
        visibility=Visibility.PRIVATE,
    )
    at(NOON - timedelta(seconds=1), monkeypatch)
    assert Access.SHOW == await access_to(owner, public)
    assert Access.NOT_FOUND == await access_to(ANONYMOUS, public)
    assert Access.NOT_FOUND == await access_to(friend, shared)
    for viewer in (owner, friend, ANONYMOUS):
        assert [] == await listed_for(viewer)
    at(NOON, monkeypatch)
    assert Access.SHOW == await access_to(friend, shared)
    assert {public.id, shared.id} == {p.id for p in await listed_for(owner)}
    public.deleted_at = NOON - timedelta(hours=1)
    assert Access.NOT_FOUND == await access_to(ANONYMOUS, public)
    public.deleted_at = NOON + timedelta(hours=1)
    assert Access.GONE == await access_to(ANONYMOUS, public)


async def test_last_shown_change_counts_the_appearance() -> None:
    """A post stored before its time counts from its time: Last-Modified moves when it
    appears, though its row did not change."""
    early = await create_post({"content": ["scheduled"]}, published=NOON)
    assert early.modified_at < NOON
    assert NOON == last_shown_change([early])
    assert last_shown_change([]) is None


async def test_held_change_queues_one_announcement(
    settings: Settings, heard: list[PostChange]
) -> None:
    """A scheduled post's change tells nobody and queues one job at its time; changing it
    again finds that job."""
    post = await create_post({"content": ["later"]}, published=NOON)
    await post_changed(settings, post)
    await post_changed(settings, post)
    assert [] == heard
    job = await Job.get(kind=ANNOUNCE_KIND)
    assert (NOON, announcement_key(post.id, NOON)) == (job.run_at, job.idempotency_key)
    assert {"post_id": post.id, "published": NOON.isoformat()} == job.payload
    assert 1 == await Job.all().count()


async def test_public_post_moved_into_the_future_is_told_now_and_later(
    settings: Settings, heard: list[PostChange]
) -> None:
    """A post that was public leaves the feeds now (listeners told), and is announced
    again at its new time."""
    post = await create_post({"content": ["moved"]})
    post.published = NOON
    await post.save()
    await post_changed(settings, post, was_public=True)
    assert [post.id] == [change.post.id for change in heard]
    assert await Job.exists(kind=ANNOUNCE_KIND, run_at=NOON)


async def test_deleted_scheduled_post_is_not_told(
    settings: Settings, heard: list[PostChange]
) -> None:
    """Deleting a scheduled post tells nobody (its links are never sent) and queues no job."""
    post = await create_post({"content": ["never"]}, published=NOON)
    post.deleted_at = timestamps.now()
    await post.save()
    await post_changed(settings, post)
    assert ([], 0) == (heard, await Job.all().count())


async def test_drafts_and_visible_posts_are_told_as_before(
    settings: Settings, heard: list[PostChange]
) -> None:
    """Only scheduled posts are held: a future draft and a post of the past are told."""
    draft = await create_post({"content": ["draft"]}, published=NOON, status=Status.DRAFT)
    past = await create_post({"content": ["past"]})
    await post_changed(settings, draft)
    await post_changed(settings, past)
    assert [draft.id, past.id] == [change.post.id for change in heard]
    assert not await Job.exists(kind=ANNOUNCE_KIND)
