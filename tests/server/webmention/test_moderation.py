"""Moderation (hearth.server.webmention.moderation): HEARTH_MODERATION modes and domain rules.

Spec: https://www.w3.org/TR/webmention/#security-considerations (receivers MAY moderate);
issue 4 "Moderation": `known` (default), `manual`, `all`, plus allow and block lists.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from tortoise import Tortoise

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Approval, DomainRule, Interaction, InteractionState, Post
from hearth.server.webmention import moderation
from tests.server.webmention.receive_support import (
    FakeWeb,
    permalink,
    received,
    reply_page,
)

FIRST = "https://alice.example/replies/1"
SECOND = "https://alice.example/replies/2"


def moderate(worker: Worker, mode: str) -> None:
    worker.settings = replace(worker.settings, moderation=mode)


async def reply(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, source: str = FIRST
) -> Interaction:
    web.add(source, reply_page(permalink(post)))
    return await received(client, worker, source, permalink(post))


async def test_all_mode_approves_everything(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """`all`: a verified response from a new domain is shown at once."""
    moderate(worker, "all")
    assert Approval.APPROVED == (await reply(client, worker, web, post)).approval


async def test_known_mode_holds_a_new_domain(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """`known`: a domain never approved before waits."""
    moderate(worker, "known")
    response = await reply(client, worker, web, post)
    assert (InteractionState.ACCEPTED, Approval.WAITING) == (response.state, response.approval)


async def test_known_mode_shows_a_domain_approved_before(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """`known`: once the owner approved one response from a domain, later ones show at once."""
    moderate(worker, "known")
    first = await reply(client, worker, web, post)
    await moderation.set_approval(first, Approval.APPROVED)
    assert Approval.APPROVED == (await reply(client, worker, web, post, SECOND)).approval


async def test_manual_mode_holds_even_known_domains(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """`manual`: every response waits, whatever was approved before."""
    moderate(worker, "manual")
    first = await reply(client, worker, web, post)
    await moderation.set_approval(first, Approval.APPROVED)
    assert Approval.WAITING == (await reply(client, worker, web, post, SECOND)).approval


async def test_allow_rule_approves_in_manual_mode(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """An allow rule shows the domain's responses whatever the mode."""
    moderate(worker, "manual")
    await DomainRule.create(domain="alice.example", rule=moderation.ALLOW)
    assert Approval.APPROVED == (await reply(client, worker, web, post)).approval


async def test_block_rule_rejects_without_fetching(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A blocked domain's webmention is rejected, and its source is never fetched."""
    await DomainRule.create(domain="alice.example", rule=moderation.BLOCK)
    response = await reply(client, worker, web, post)
    assert (InteractionState.REJECTED, moderation.BLOCKED_REASON, 0) == (
        response.state,
        response.reason,
        web.fetched(FIRST),
    )


async def test_block_rule_covers_subdomains(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Blocking example.org blocks www.example.org too."""
    await DomainRule.create(domain="alice.example", rule=moderation.BLOCK)
    response = await reply(client, worker, web, post, "https://www.alice.example/r/1")
    assert InteractionState.REJECTED == response.state


async def test_block_beats_allow(app: object) -> None:
    """With both a parent allow and a child block, the block wins."""
    await DomainRule.create(domain="example.org", rule=moderation.ALLOW)
    await DomainRule.create(domain="spam.example.org", rule=moderation.BLOCK)
    assert moderation.BLOCK == await moderation.domain_rule("x.spam.example.org")
    assert moderation.ALLOW == await moderation.domain_rule("ham.example.org")
    assert await moderation.domain_rule("example.com") is None


async def test_blocking_a_domain_rejects_what_it_sent(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Blocking after the fact takes the domain's responses off the page."""
    response = await reply(client, worker, web, post)
    assert 1 == await moderation.block_domain("alice.example")
    response = await Interaction.get(id=response.id)
    assert (InteractionState.REJECTED, moderation.BLOCKED_REASON) == (
        response.state,
        response.reason,
    )


async def test_owner_hiding_survives_reverification(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A hidden response stays hidden when its sender re-sends it."""
    response = await reply(client, worker, web, post)
    await moderation.set_approval(response, Approval.HIDDEN)
    assert Approval.HIDDEN == (await reply(client, worker, web, post)).approval


@pytest.mark.parametrize("mode", ["known", "manual"])
async def test_approval_survives_reverification(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, mode: str
) -> None:
    """An approved response stays approved when updated, even in manual mode."""
    moderate(worker, mode)
    response = await reply(client, worker, web, post)
    await moderation.set_approval(response, Approval.APPROVED)
    assert Approval.APPROVED == (await reply(client, worker, web, post)).approval


async def test_rule_changes_here_apply_to_the_next_verification(app: object) -> None:
    """Rules are kept in memory, but a change made in this process is seen at once."""
    assert await moderation.domain_rule("alice.example") is None
    await moderation.block_domain("alice.example")
    assert moderation.BLOCK == await moderation.domain_rule("www.alice.example")
    await moderation.remove_rule("alice.example")
    assert await moderation.domain_rule("alice.example") is None
    await DomainRule.create(domain="alice.example", rule=moderation.ALLOW)
    assert moderation.ALLOW == await moderation.domain_rule("alice.example")
    await (await DomainRule.get(domain="alice.example")).delete()
    assert await moderation.domain_rule("alice.example") is None


async def test_rule_made_by_another_process_applies_within_a_second(
    app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A block made elsewhere (the admin of `hearth serve`, seen from `hearth worker`: no
    signal reaches this process) applies once `RULES_MAX_AGE` has passed."""
    assert await moderation.domain_rule("alice.example") is None
    await Tortoise.get_connection("default").execute_query(
        "INSERT INTO domain_rules (domain, rule, created_at) VALUES ('alice.example', 'block',"
        " '2026-01-01 00:00:00+00:00')"
    )
    later = moderation.monotonic() + moderation.RULES_MAX_AGE
    monkeypatch.setattr(moderation, "monotonic", lambda: later)
    assert moderation.BLOCK == await moderation.domain_rule("alice.example")
