"""A new post's rows (hearth.server.core.new_posts through posts.create_post), the same on
both stores. The PostgreSQL suite runs these too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hearth.server.core import newbase60
from hearth.server.core.models import PostCategory
from hearth.server.core.new_posts import EPOCH, MAX_CATEGORY
from hearth.server.core.posts import create_post

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
