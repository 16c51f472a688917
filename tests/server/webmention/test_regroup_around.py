"""Regrouping around one changed response (moderation.regroup_around) ends where regrouping
the whole post would: the same copies shown, the same duplicates, on both stores."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from hearth.server.core import one_trip
from hearth.server.core.models import Approval, Interaction, InteractionState, Post
from hearth.server.webmention import moderation

pytestmark = pytest.mark.usefixtures("db")

POOL = [f"https://site{n}.example/p" for n in range(8)]


async def duplicates_now(post: Post) -> dict[int, int | None]:
    rows = await Interaction.filter(post=post).values_list("id", "duplicate_of_id")
    return dict(rows)


async def whole_post_changes(post: Post) -> list[tuple[int, int | None]]:
    """What a full regroup would still change (nothing, if the groups are right)."""
    rows = await one_trip.fetch(
        "SELECT id, source, url, identities, approval, duplicate_of_id FROM responses"
        " WHERE post_id = ? AND state = ? AND approval <> ? ORDER BY id",
        (post.id, InteractionState.ACCEPTED.value, Approval.HIDDEN.value),
    )
    return moderation.duplicates(rows)


@pytest.mark.parametrize("seed", range(6))
async def test_each_change_regrouped_around_it_leaves_the_post_grouped(
    post: Post, seed: int
) -> None:
    chance = random.Random(seed)
    made: list[Interaction] = []
    for n in range(24):
        # Responses appear, are accepted with some shared identities, some hidden or
        # rejected later; after each change only its surroundings are regrouped.
        if made and chance.random() < 0.3:
            # As a verification's outcome or the admin writes it: these columns alone.
            response = chance.choice(made)
            await Interaction.filter(id=response.id).update(
                state=chance.choice(list(InteractionState)),
                approval=chance.choice(list(Approval)),
            )
        else:
            response = await Interaction.create(
                source=f"https://src{n}.example/",
                target="https://example.test/x",
                source_target_hash=f"h{n}",
                post=post,
                status_token=f"t{n}",
                domain=f"src{n}.example",
                state=InteractionState.ACCEPTED,
                approval=chance.choice([Approval.APPROVED, Approval.WAITING]),
                identities=[f"https://src{n}.example/", *chance.sample(POOL, chance.randint(0, 2))],
            )
            made.append(response)
        unit = moderation.regroup_around(
            post.id, response.id, datetime.now(UTC), one_trip.dialect()
        )
        await one_trip.run(unit)
        assert [] == await whole_post_changes(post), (seed, n)
    assert any(await duplicates_now(post)), "some duplicates were made"
