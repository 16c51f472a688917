"""Create receipts: a resend gets the first post back, a deliberate post is never swallowed.

Covers `micropub/receipts.py`: the implicit double-send window (same token, client and
request within seconds), its end when the post changes, and explicit Idempotency-Keys.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from hearth.micropub.receipts import DOUBLE_SEND_WINDOW
from hearth.server.core.models import Media, MicropubReceipt, Post
from tests.micropub.endpoint_helpers import (
    ENDPOINT,
    bearer,
    error_of,
    image_bytes,
    post_form,
    post_json,
)

HELLO_JSON = {"type": ["h-entry"], "properties": {"content": ["Hello"]}}


async def _delete(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> None:
    response = await post_form(client, f"action=delete&url={url}", headers)
    assert 204 == response.status_code, response.text


async def _live_contents() -> list[str]:
    posts = await Post.filter(deleted_at__isnull=True).order_by("id")
    return [post.properties["content"][0] for post in posts]


async def test_double_send_gets_the_same_post(client: httpx.AsyncClient) -> None:
    """The same body with the same token twice gives the first Location, one post."""
    headers = await bearer()
    first = await post_form(client, "content=Double+tap", headers)
    second = await post_form(client, "content=Double+tap", headers)
    assert 201 == second.status_code
    assert first.headers["location"] == second.headers["location"]
    assert 1 == await Post.all().count()


async def test_concurrent_double_send_gets_one_post(client: httpx.AsyncClient) -> None:
    """Two identical creates in flight at once still make one post, one Location."""
    headers = await bearer()
    first, second = await asyncio.gather(
        post_form(client, "content=Racing", headers), post_form(client, "content=Racing", headers)
    )
    assert (201, 201) == (first.status_code, second.status_code)
    assert first.headers["location"] == second.headers["location"]
    assert 1 == await Post.all().count()


async def test_double_send_after_the_window_is_a_new_post(client: httpx.AsyncClient) -> None:
    """Once the double-send window has passed the same body is a new post."""
    headers = await bearer()
    first = await post_form(client, "content=Daily+note", headers)
    long_ago = datetime.now(UTC) - timedelta(minutes=6)
    await MicropubReceipt.all().update(created_at=long_ago)
    second = await post_form(client, "content=Daily+note", headers)
    assert first.headers["location"] != second.headers["location"]
    assert 2 == await Post.all().count()


async def test_same_body_other_token_is_a_new_post(client: httpx.AsyncClient) -> None:
    """Receipts are per token: another client's identical post is its own."""
    await post_form(client, "content=Same", await bearer())
    await post_form(client, "content=Same", await bearer())
    assert 2 == await Post.all().count()


async def test_idempotency_key_holds_past_the_window(client: httpx.AsyncClient) -> None:
    """A resend with the same Idempotency-Key gets the same Location, however late."""
    headers = {**await bearer(), "Idempotency-Key": '"retry-1"'}
    first = await post_form(client, "content=Once", headers)
    await MicropubReceipt.all().update(created_at=datetime.now(UTC) - timedelta(days=2))
    second = await post_form(client, "content=Once", headers)
    assert first.headers["location"] == second.headers["location"]
    assert 1 == await Post.all().count()


async def test_new_idempotency_key_is_a_new_post(client: httpx.AsyncClient) -> None:
    """The same body under two Idempotency-Keys is two posts (the client says so)."""
    headers = await bearer()
    await post_form(client, "content=Twice", {**headers, "Idempotency-Key": "a"})
    await post_form(client, "content=Twice", {**headers, "Idempotency-Key": "b"})
    assert 2 == await Post.all().count()


async def test_multipart_resend_stores_the_file_once(client: httpx.AsyncClient) -> None:
    """A multipart resend (new boundary) matches the first; its file is not stored again."""
    headers = await bearer()
    files = {"photo": ("a.jpg", image_bytes(), "image/jpeg")}
    data = {"content": "Photo once"}
    first = await client.post(ENDPOINT, data=data, files=files, headers=headers)
    second = await client.post(ENDPOINT, data=data, files=files, headers=headers)
    assert first.headers["location"] == second.headers["location"]
    assert 1 == await Media.all().count()


# --- A deleted or changed post is never the answer ----------------------------------------


async def test_create_delete_create_form_is_a_new_post(client: httpx.AsyncClient) -> None:
    """The same note after deleting the first is a new post at a new Location."""
    headers = await bearer()
    first = await post_form(client, "h=entry&content=Hello", headers)
    await _delete(client, headers, first.headers["location"])
    second = await post_form(client, "h=entry&content=Hello", headers)
    assert 201 == second.status_code
    assert first.headers["location"] != second.headers["location"]
    assert 200 == (await client.get(second.headers["location"])).status_code
    assert ["Hello"] == await _live_contents()


async def test_create_delete_create_json_is_a_new_post(client: httpx.AsyncClient) -> None:
    headers = await bearer()
    first = await post_json(client, HELLO_JSON, headers)
    await _delete(client, headers, first.headers["location"])
    second = await post_json(client, HELLO_JSON, headers)
    assert first.headers["location"] != second.headers["location"]
    assert ["Hello"] == await _live_contents()


async def test_create_delete_create_mixed_syntaxes(client: httpx.AsyncClient) -> None:
    """Form, delete, JSON, delete, form: three posts, each deleted but the last."""
    headers = await bearer()
    locations = []
    for send in ("form", "json", "form"):
        if send == "form":
            response = await post_form(client, "h=entry&content=Hello", headers)
        else:
            response = await post_json(client, HELLO_JSON, headers)
        assert 201 == response.status_code
        locations.append(response.headers["location"])
        if len(locations) < 3:
            await _delete(client, headers, locations[-1])
    assert 3 == len(set(locations))
    assert [410, 410, 200] == [(await client.get(url)).status_code for url in locations]


async def test_update_ends_the_window(client: httpx.AsyncClient) -> None:
    """After an edit, sending the original text again is a new post, not the edited one."""
    headers = await bearer()
    first = await post_form(client, "h=entry&content=Hello", headers)
    url = first.headers["location"]
    edit = {"action": "update", "url": url, "replace": {"content": ["Hello, edited"]}}
    assert 204 == (await post_json(client, edit, headers)).status_code
    second = await post_form(client, "h=entry&content=Hello", headers)
    assert url != second.headers["location"]
    assert ["Hello, edited", "Hello"] == await _live_contents()


async def test_delete_then_undelete_ends_the_window(client: httpx.AsyncClient) -> None:
    headers = await bearer()
    first = await post_form(client, "h=entry&content=Hello", headers)
    url = first.headers["location"]
    await _delete(client, headers, url)
    assert 204 == (await post_form(client, f"action=undelete&url={url}", headers)).status_code
    second = await post_form(client, "h=entry&content=Hello", headers)
    assert url != second.headers["location"]
    assert ["Hello", "Hello"] == await _live_contents()


# --- What the implicit window still takes for a resend, and what not --------------------


async def test_deliberate_repeat_a_minute_later_is_a_new_post(client: httpx.AsyncClient) -> None:
    """The same "+1" reply sent again a minute later is meant: two replies."""
    headers = await bearer()
    body = "h=entry&in-reply-to=https://other.example/post&content=%2B1"
    await post_form(client, body, headers)
    await MicropubReceipt.all().update(created_at=datetime.now(UTC) - timedelta(minutes=1))
    await post_form(client, body, headers)
    assert ["+1", "+1"] == await _live_contents()


async def test_window_is_short(client: httpx.AsyncClient) -> None:
    """Long enough for a double tap or a retry after a lost answer, short of a minute."""
    assert timedelta(seconds=5) <= DOUBLE_SEND_WINDOW < timedelta(minutes=1)


async def test_other_client_with_the_same_token_is_a_new_post(client: httpx.AsyncClient) -> None:
    """Two apps sharing one token (told apart by User-Agent) never swallow each other's post."""
    headers = await bearer()
    await post_form(client, "content=Hi", {**headers, "User-Agent": "Quill/1.0"})
    await post_form(client, "content=Hi", {**headers, "User-Agent": "Indigenous/4.2"})
    assert ["Hi", "Hi"] == await _live_contents()


async def test_same_client_double_tap_is_one_post(client: httpx.AsyncClient) -> None:
    headers = {**await bearer(), "User-Agent": "Quill/1.0"}
    first = await post_form(client, "content=Hi", headers)
    second = await post_form(client, "content=Hi", headers)
    assert first.headers["location"] == second.headers["location"]
    assert ["Hi"] == await _live_contents()


# --- Idempotency-Key ----------------------------------------------------------------------


async def test_idempotency_key_of_a_deleted_post_is_409(client: httpx.AsyncClient) -> None:
    """A resend whose post was deleted is refused, saying why; nothing comes back to life."""
    headers = {**await bearer(), "Idempotency-Key": "k-1"}
    first = await post_form(client, "content=Once", headers)
    await _delete(client, headers, first.headers["location"])
    again = await post_form(client, "content=Once", headers)
    assert 409 == again.status_code
    assert "invalid_request" == error_of(again)
    assert "deleted" in again.json()["error_description"]
    assert "location" not in again.headers
    assert [] == await _live_contents()


async def test_idempotency_key_answers_again_after_undelete(client: httpx.AsyncClient) -> None:
    headers = {**await bearer(), "Idempotency-Key": "k-1"}
    first = await post_form(client, "content=Once", headers)
    url = first.headers["location"]
    await _delete(client, headers, url)
    await post_form(client, f"action=undelete&url={url}", headers)
    again = await post_form(client, "content=Once", headers)
    assert (201, url) == (again.status_code, again.headers["location"])
    assert 1 == await Post.all().count()


async def test_idempotency_key_reused_for_another_post_is_422(client: httpx.AsyncClient) -> None:
    """A key sent again with a different request is the client's mistake: refused, not swallowed."""
    headers = {**await bearer(), "Idempotency-Key": "same-key"}
    await post_form(client, "content=First", headers)
    second = await post_form(client, "content=Second", headers)
    assert 422 == second.status_code
    assert "invalid_request" == error_of(second)
    assert ["First"] == await _live_contents()


async def test_idempotency_key_ignores_the_user_agent(client: httpx.AsyncClient) -> None:
    """An explicit key names the request: a retry from an updated app still matches."""
    headers = {**await bearer(), "Idempotency-Key": "k-2"}
    first = await post_form(client, "content=Once", {**headers, "User-Agent": "App/1"})
    second = await post_form(client, "content=Once", {**headers, "User-Agent": "App/2"})
    assert first.headers["location"] == second.headers["location"]
