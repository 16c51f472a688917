"""A verification's outcome as stored (hearth.server.webmention.outcome): written from what
the row is at the end, not from what it was when the verification began."""

from __future__ import annotations

import pytest

from hearth.server.core.models import Approval, Interaction, InteractionState, Post
from hearth.server.webmention import outcome

pytestmark = pytest.mark.usefixtures("db")

SOURCE = "https://alice.example/replies/1"


async def pending_response(post: Post) -> Interaction:
    return await Interaction.create(
        source=SOURCE,
        target="https://example.test/x",
        source_target_hash="h1",
        post=post,
        status_token="t1",
        domain="alice.example",
    )


@pytest.mark.parametrize("owner_chose", [Approval.HIDDEN, Approval.APPROVED])
async def test_the_owners_choice_during_the_fetch_is_kept(
    post: Post, owner_chose: Approval
) -> None:
    """Loaded as waiting; the owner approves or hides it while its source is fetched; the
    verification, which would have left it waiting, keeps the owner's choice."""
    response = await pending_response(post)
    loaded = await outcome.load(response.id)
    assert loaded is not None and loaded.approval == Approval.WAITING
    await Interaction.filter(id=response.id).update(approval=owner_chose)
    values = dict.fromkeys(outcome.ACCEPTED_COLUMNS) | {"kind": "mention"}
    await outcome.accepted(loaded, "alice.example", values, [], "manual", None)
    stored = await Interaction.get(id=response.id)
    assert (InteractionState.ACCEPTED, owner_chose) == (stored.state, stored.approval)


async def test_a_waiting_response_gets_the_approval_decided(post: Post) -> None:
    response = await pending_response(post)
    loaded = await outcome.load(response.id)
    assert loaded is not None
    values = dict.fromkeys(outcome.ACCEPTED_COLUMNS) | {"kind": "mention"}
    await outcome.accepted(loaded, "alice.example", values, [], "all", None)
    assert Approval.APPROVED == (await Interaction.get(id=response.id)).approval
