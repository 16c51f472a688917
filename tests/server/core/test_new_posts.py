"""A new post's rows (hearth.server.core.new_posts through posts.create_post), the same on
both stores. The PostgreSQL suite runs these too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hearth.server.core import newbase60, one_trip
from hearth.server.core.models import Post, PostCategory
from hearth.server.core.new_posts import (
    EPOCH,
    MAX_CATEGORY,
    RACE_ATTEMPTS,
    Ordinals,
    insert,
    ordinals,
)
from hearth.server.core.posts import create_post, new_post

pytestmark = pytest.mark.usefixtures("db")


async def test_a_days_ordinal_counts_only_that_days_codes_when_its_stem_has_an_underscore() -> None:
    """Day 20434's stem ends in "_", a newbase60 digit and LIKE's any-character: the posts of
    day 20435 (same first three characters) are not counted as that day's."""
    underscore_day = 20434
    assert newbase60.encode(underscore_day, 3).endswith("_")
    for n in range(3):
        await create_post({"content": [f"next day {n}"]}, published=EPOCH + timedelta(days=20435))
    post = await create_post(
        {"content": ["that day"]}, published=EPOCH + timedelta(days=underscore_day, hours=1)
    )
    assert post.short_code.endswith("_1"), post.short_code


async def test_a_category_too_long_for_a_tag_page_is_kept_on_the_post_alone() -> None:
    long_name = "x" * (MAX_CATEGORY + 1)
    post = await create_post({"content": ["hi"], "category": [long_name, "short"]})
    assert [long_name, "short"] == post.properties["category"]
    assert ["short"] == await PostCategory.filter(post=post).values_list("name", flat=True)


def _recorded(unit: one_trip.Unit[Post], seen: list[str]) -> one_trip.Unit[Post]:
    """`unit`, each statement's SQL appended to `seen` as it runs."""
    try:
        statement = next(unit)
        while True:
            seen.append(statement[0])
            rows = yield statement
            statement = unit.send(rows)
    except StopIteration as stop:
        post: Post = stop.value
        return post


async def _insert(published: datetime, seen: list[str], remembered: Ordinals | None = None) -> Post:
    new = new_post({"content": ["bulk"]}, published=published)
    remembered = ordinals() if remembered is None else remembered
    unit = insert(new, datetime.now(UTC), one_trip.dialect(), remembered)
    return await one_trip.run(_recorded(unit, seen))


class _Undone(Exception):
    pass


def _rolled_back(unit: one_trip.Unit[Post]) -> one_trip.Unit[Post]:
    """`unit`, then a failure: its rows are rolled back (as a create whose receipt failed)."""
    yield from unit
    raise _Undone


async def test_a_days_posts_are_counted_once_not_at_every_create() -> None:
    """Issue #14: finding the day's highest code reads them all; a busy day reads them once."""
    published = EPOCH + timedelta(days=20500, hours=9)
    seen: list[str] = []
    codes = [(await _insert(published, seen)).short_code for _ in range(4)]
    assert [code[-1] for code in codes] == ["1", "2", "3", "4"]
    assert len([sql for sql in seen if "ORDER BY length(short_code)" in sql]) == 1


async def test_codes_another_process_gave_meanwhile_are_skipped_however_many() -> None:
    """Remembered ordinals go stale when another process posts that day: the code expected
    is then taken, and the day is counted again (more than RACE_ATTEMPTS codes later)."""
    published = EPOCH + timedelta(days=20501, hours=9)
    first = await _insert(published, [])
    stem = first.short_code[:-1]
    elsewhere = RACE_ATTEMPTS + 5
    for ordinal in range(2, 2 + elsewhere):  # as another process's creates would
        await Post.create(
            path=f"elsewhere/{ordinal}", short_code=stem + newbase60.encode(ordinal),
            h_type="entry", properties={"content": ["x"]}, post_type="note", published=published,
        )  # fmt: skip
    after = await _insert(published, [])
    assert after.short_code == stem + newbase60.encode(2 + elsewhere)


async def test_creates_rolled_back_leave_gaps_that_a_fresh_connection_steps_over() -> None:
    """Ordinals taken by creates that were then rolled back are gaps; a connection that knows
    nothing of the day (a restart, another process) starts after the day's highest code,
    however many gaps lie below it."""
    published = EPOCH + timedelta(days=20502, hours=9)
    remembered: Ordinals = {}
    for _ in range(RACE_ATTEMPTS + 5):
        new = new_post({"content": ["undone"]}, published=published)
        unit = insert(new, datetime.now(UTC), one_trip.dialect(), remembered)
        with pytest.raises(_Undone):
            await one_trip.run(_rolled_back(unit))
    kept = [await _insert(published, [], remembered) for _ in range(3)]
    stem = kept[0].short_code[: -len(newbase60.encode(RACE_ATTEMPTS + 6))]
    assert kept[0].short_code == stem + newbase60.encode(RACE_ATTEMPTS + 6)
    fresh = await _insert(published, [], {})
    assert fresh.short_code == stem + newbase60.encode(RACE_ATTEMPTS + 9)
