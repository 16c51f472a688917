"""The dashboard's Webmentions section (hearth.server.webmention.admin_section).

Its queue, rules and failures.

Every action is a POST form with the session's CSRF token; see tests/server/admin for the
shell itself.
"""

from __future__ import annotations

import httpx
import pytest

from hearth.server.core.models import (
    Approval,
    DomainRule,
    Interaction,
    InteractionState,
    OutgoingWebmention,
    Post,
)
from tests.server.webmention.receive_support import permalink


async def waiting(
    post: Post, source: str = "https://alice.example/r/1", **extra: object
) -> Interaction:
    """A verified reply waiting for approval."""
    values = {
        "source": source,
        "target": permalink(post),
        "post": post,
        "domain": "alice.example",
        "source_target_hash": source,
        "status_token": source[-8:],
        "kind": "reply",
        "state": InteractionState.ACCEPTED,
        "author_name": "Alice <b>",
        "content_text": "Nice post!",
        **extra,
    }
    return await Interaction.create(**values)


async def test_queue_lists_waiting_responses_with_actions(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """The section lists each waiting response with approve, hide and block forms."""
    response = await waiting(post)
    html = (await client.get("/admin/responses")).text
    assert 'id="webmentions"' in html
    assert "Alice &lt;b&gt;" in html and "Nice post!" in html
    for action in ("approve", "hide", "block"):
        assert f'action="/admin/webmentions/{response.id}/{action}"' in html


async def test_approve_shows_the_response(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Approve: the response is approved and the browser goes back to the section."""
    response = await waiting(post)
    answer = await client.post(
        f"/admin/webmentions/{response.id}/approve", data={"csrf_token": signed_in}
    )
    assert (303, "/admin/responses#webmentions") == (answer.status_code, answer.headers["location"])
    assert Approval.APPROVED == (await Interaction.get(id=response.id)).approval


async def test_hide_hides_the_response(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Hide (reject): the response is kept but never shown."""
    response = await waiting(post)
    await client.post(f"/admin/webmentions/{response.id}/hide", data={"csrf_token": signed_in})
    assert Approval.HIDDEN == (await Interaction.get(id=response.id)).approval


async def test_block_blocks_the_domain(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Block: a block rule for the response's domain, and its responses rejected."""
    response = await waiting(post)
    await client.post(f"/admin/webmentions/{response.id}/block", data={"csrf_token": signed_in})
    rule = await DomainRule.get(domain="alice.example")
    assert ("block", InteractionState.REJECTED) == (
        rule.rule,
        (await Interaction.get(id=response.id)).state,
    )


async def test_action_without_csrf_token_is_forbidden(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """A cross-site form cannot approve: no token, 403, nothing changes."""
    response = await waiting(post)
    answer = await client.post(f"/admin/webmentions/{response.id}/approve", data={})
    assert 403 == answer.status_code
    assert Approval.WAITING == (await Interaction.get(id=response.id)).approval


async def test_actions_need_a_session(client: httpx.AsyncClient, password: str, post: Post) -> None:
    """Signed out, the action redirects to sign-in and changes nothing."""
    response = await waiting(post)
    answer = await client.post(f"/admin/webmentions/{response.id}/approve", data={})
    assert 303 == answer.status_code
    assert Approval.WAITING == (await Interaction.get(id=response.id)).approval


@pytest.mark.parametrize(
    "path", ["/admin/webmentions/999/approve", "/admin/webmentions/{id}/publish"]
)
async def test_unknown_response_or_action_is_404(
    client: httpx.AsyncClient, signed_in: str, post: Post, path: str
) -> None:
    """No such response, or no such action: 404."""
    response = await waiting(post)
    answer = await client.post(path.format(id=response.id), data={"csrf_token": signed_in})
    assert 404 == answer.status_code


async def test_add_and_remove_domain_rules(client: httpx.AsyncClient, signed_in: str) -> None:
    """Rules are added from the form, listed, and removed."""
    await client.post(
        "/admin/webmentions/rules",
        data={"csrf_token": signed_in, "domain": "Friend.Example.", "rule": "allow"},
    )
    assert "friend.example" in (await client.get("/admin/responses")).text
    await client.post(
        "/admin/webmentions/rules/friend.example/delete", data={"csrf_token": signed_in}
    )
    assert 0 == await DomainRule.all().count()


async def test_bad_domain_rule_is_400(client: httpx.AsyncClient, signed_in: str) -> None:
    """Only domain names, and only allow or block."""
    for form in (
        {"domain": "not a domain", "rule": "block"},
        {"domain": "x.example", "rule": "hide"},
    ):
        answer = await client.post(
            "/admin/webmentions/rules", data={"csrf_token": signed_in, **form}
        )
        assert 400 == answer.status_code
    assert 0 == await DomainRule.all().count()


async def test_failed_outgoing_webmentions_are_listed(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Outgoing webmentions that gave up show with their error."""
    await OutgoingWebmention.create(
        post=post,
        target="https://bob.example/x",
        target_hash="h",
        state="failed",
        status_code=500,
        last_error="Boom <x>",
    )
    html = (await client.get("/admin/responses")).text
    assert "https://bob.example/x" in html and "Boom &lt;x&gt;" in html
