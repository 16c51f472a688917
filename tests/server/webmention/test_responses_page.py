"""The admin's Responses page (server/webmention/admin_section.py, response_list.py).

Every received response, newest first, 50 a page by cursor, filtered by state; approve,
hide, delete and block a domain from a row, each answered with a 303 back to where the owner
was, and each visible on the post's public permalink. The real app over ASGI, signed in.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import httpx

from hearth.server.core.models import (
    Approval,
    DomainRule,
    Interaction,
    InteractionState,
    Post,
)
from hearth.server.webmention import moderation
from tests.server.webmention.receive_support import permalink

_ROW = re.compile(r'<tr id="webmention-(\d+)"')
_NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


def values(post: Post, n: int, **extra: Any) -> dict[str, Any]:
    """A verified reply from person{n}.example, shown unless `extra` says otherwise."""
    source = f"https://person{n}.example/r/{n}"
    return {
        "source": source,
        "target": permalink(post),
        "post": post,
        "domain": f"person{n}.example",
        "source_target_hash": f"hash-{n}",
        "status_token": f"token-{n}",
        "kind": "reply",
        "state": InteractionState.ACCEPTED,
        "approval": Approval.APPROVED,
        "author_name": f"Person {n}",
        "author_url": f"https://person{n}.example/",
        "url": source,
        "content_text": f"Reply number {n}",
        "identities": [source],
        **extra,
    }


async def received(post: Post, n: int, **extra: Any) -> Interaction:
    return await Interaction.create(**values(post, n, **extra))


def listed(html: str) -> list[int]:
    """The ids of the rows the page lists, in order."""
    return [int(found) for found in _ROW.findall(html)]


async def public_page(client: httpx.AsyncClient, post: Post) -> str:
    """The post's permalink as a reader without a session sees it."""
    owner, client.cookies = client.cookies, httpx.Cookies()
    try:
        answer = await client.get("/" + post.path)
    finally:
        client.cookies = owner
    assert 200 == answer.status_code
    return answer.text


async def act(
    client: httpx.AsyncClient, token: str, response: Interaction, action: str, **form: str
) -> httpx.Response:
    answer = await client.post(
        f"/admin/webmentions/{response.id}/{action}", data={"csrf_token": token, **form}
    )
    assert 303 == answer.status_code, answer.text
    return answer


async def test_lists_every_response_newest_first(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Every state is listed, newest first, with author, source, post, type, state, date."""
    rows = [
        await received(post, 1),
        await received(post, 2, approval=Approval.WAITING),
        await received(post, 3, approval=Approval.HIDDEN),
        await received(post, 4, state=InteractionState.REJECTED, reason="no link <here>"),
        await received(post, 5, state=InteractionState.PENDING, kind="mention"),
        await received(post, 6, kind="rsvp", rsvp="yes"),
        await received(post, 7, kind="like", author_name=None),
    ]
    html = (await client.get("/admin/responses")).text
    assert [r.id for r in reversed(rows)] == listed(html)
    row = html[html.index(f'id="webmention-{rows[5].id}"') :].split("</tr>")[0]
    assert 'href="https://person6.example/"' in row and ">Person 6</a>" in row
    assert 'href="https://person6.example/r/6"' in row
    assert f'<a href="{permalink(post)}">Hello, world</a>' in row
    assert "RSVP (yes)" in row and ">shown<" in row
    created = rows[5].created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert f">{created}</time>" in row
    for text in ("waiting for approval", "hidden", "rejected", "no link &lt;here&gt;",
                 "being verified", ">person7.example</a>"):  # fmt: skip
        assert text in html


async def test_rows_offer_the_actions_that_apply(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Waiting: approve, hide, delete, block; shown: no approve; blocked domain: no block."""
    waiting = await received(post, 1, approval=Approval.WAITING)
    shown = await received(post, 2)
    await DomainRule.create(domain="spam.example", rule="block")  # a parent domain counts
    blocked = await received(post, 3, domain="www.spam.example", approval=Approval.WAITING)
    html = (await client.get("/admin/responses")).text

    def actions(response: Interaction) -> list[str]:
        return re.findall(rf'action="/admin/webmentions/{response.id}/(\w+)"', html)

    assert ["approve", "hide", "delete", "block"] == actions(waiting)
    assert ["hide", "delete", "block"] == actions(shown)
    assert ["hide", "delete"] == actions(blocked)
    assert ">Block person1.example</button>" in html
    assert f'name="csrf_token" value="{signed_in}"' in html


async def test_filter_by_state(client: httpx.AsyncClient, signed_in: str, post: Post) -> None:
    """Each filter lists its state only (the state column's); the filters' counts show, the
    queue among them."""
    shown = await received(post, 1)
    waiting = [await received(post, n, approval=Approval.WAITING) for n in (2, 3)]
    hidden = await received(post, 4, approval=Approval.HIDDEN)
    rejected = await received(post, 5, state=InteractionState.REJECTED)
    both = await received(post, 6, state=InteractionState.REJECTED, approval=Approval.HIDDEN)
    # A copy of `shown` (the same reply relayed): not shown itself, so under "All" only.
    await received(post, 7, identities=["https://person1.example/r/1"])
    await moderation.regroup(post.id)
    expected = {
        "waiting": [w.id for w in reversed(waiting)],
        "shown": [shown.id],
        "hidden": [both.id, hidden.id],
        "rejected": [rejected.id],
    }
    for state, ids in expected.items():
        html = (await client.get("/admin/responses", params={"state": state})).text
        assert ids == listed(html), state
        assert f'href="/admin/responses?state={state}#webmentions" aria-current="page"' in html
    html = (await client.get("/admin/responses")).text
    assert ">Waiting for approval (2)</a>" in html and ">Hidden (2)</a>" in html
    assert 7 == len(listed(html)) and "not shown: a copy of another response" in html


async def test_pages_of_fifty_by_cursor(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """50 a page, a rel=next link to the older ones that keeps the filter, none at the end."""
    await Interaction.bulk_create(
        [Interaction(**values(post, n, approval=Approval.WAITING)) for n in range(120)]
    )
    await received(post, 500)  # shown: not under the waiting filter
    seen: list[int] = []
    url: str | None = "/admin/responses?state=waiting"
    pages = []
    while url:
        html = (await client.get(url)).text
        pages.append(len(listed(html)))
        seen += listed(html)
        found = _NEXT.search(html)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert url is None or "state=waiting" in url
    assert [50, 50, 20] == pages
    all_waiting = await Interaction.filter(approval=Approval.WAITING).order_by("-id")
    assert [r.id for r in all_waiting] == seen


async def test_bad_filter_or_cursor_lists_from_the_start(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """An unknown state or a mangled cursor is ignored, not an error."""
    response = await received(post, 1)
    answer = await client.get("/admin/responses", params={"state": "nope", "before": "x1"})
    assert (200, [response.id]) == (answer.status_code, listed(answer.text))


async def test_actions_go_back_to_the_filter_and_page(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """The 303 keeps the filter and cursor the form sent; without them, the list's top."""
    response = await received(post, 1, approval=Approval.WAITING)
    form = {"state": "waiting", "before": "77"}
    answer = await act(client, signed_in, response, "hide", **form)
    assert "/admin/responses?state=waiting&before=77#webmentions" == answer.headers["location"]
    answer = await act(client, signed_in, response, "approve", state="bogus")
    assert "/admin/responses#webmentions" == answer.headers["location"]


async def test_every_action_shows_on_the_permalink(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Waiting: not on the permalink; approve: on it; hide: off; approve: on; delete: gone
    from the permalink, the database and the admin."""
    response = await received(post, 1, approval=Approval.WAITING)
    other = await received(post, 2)
    mark = f'id="response-{response.id}"'
    assert mark not in await public_page(client, post)
    for action, shown in (("approve", True), ("hide", False), ("approve", True)):
        await act(client, signed_in, response, action)
        assert shown == (mark in await public_page(client, post)), action
    await act(client, signed_in, response, "delete")
    page = await public_page(client, post)
    assert mark not in page and f'id="response-{other.id}"' in page
    assert not await Interaction.exists(id=response.id)
    assert [other.id] == listed((await client.get("/admin/responses")).text)


async def test_deleting_the_shown_copy_shows_the_other(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """The same reply relayed twice shows once; deleting that copy shows the other."""
    first = await received(post, 1, identities=["https://person1.example/r/1"])
    relayed = await received(post, 2, identities=["https://person1.example/r/1"])
    await moderation.regroup(post.id)
    assert f'id="response-{relayed.id}"' not in await public_page(client, post)
    await act(client, signed_in, first, "delete")
    assert f'id="response-{relayed.id}"' in await public_page(client, post)


async def test_block_from_a_response(client: httpx.AsyncClient, signed_in: str, post: Post) -> None:
    """Block: a block rule for the domain, and its responses (subdomains too) rejected as a
    rule added by hand rejects them: off the permalink; other domains stay."""
    shown = await received(post, 1, domain="alice.example")
    waiting = await received(post, 2, domain="alice.example", approval=Approval.WAITING)
    sub = await received(post, 3, domain="blog.alice.example")
    bob = await received(post, 4, domain="bob.example")
    answer = await act(client, signed_in, waiting, "block", state="waiting")
    assert "/admin/responses?state=waiting#webmentions" == answer.headers["location"]
    assert "block" == (await DomainRule.get(domain="alice.example")).rule
    for response in (shown, waiting, sub):
        await response.refresh_from_db()
        assert (InteractionState.REJECTED, moderation.BLOCKED_REASON) == (
            response.state,
            response.reason,
        )
    page = await public_page(client, post)
    assert f'id="response-{shown.id}"' not in page and f'id="response-{sub.id}"' not in page
    assert f'id="response-{bob.id}"' in page
    html = (await client.get("/admin/responses", params={"state": "rejected"})).text
    assert [sub.id, waiting.id, shown.id] == listed(html)
    assert "Block alice.example" not in html


async def test_delete_needs_the_csrf_token(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """A cross-site form cannot delete: 403, the response stays."""
    response = await received(post, 1)
    answer = await client.post(f"/admin/webmentions/{response.id}/delete", data={})
    assert 403 == answer.status_code
    assert await Interaction.exists(id=response.id)


async def test_empty_states(client: httpx.AsyncClient, signed_in: str) -> None:
    """Nothing received, nothing waiting: said in words."""
    assert "No responses received yet." in (await client.get("/admin/responses")).text
    waiting = await client.get("/admin/responses", params={"state": "waiting"})
    assert "No responses are waiting for approval." in waiting.text
