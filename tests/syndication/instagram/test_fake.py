"""The fake Instagram itself (hearth.syndication.instagram.fake): the shapes Meta documents
(linked from its docstrings), the switches tests flip, and webhook signing."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from PIL import Image

from hearth.syndication.instagram.fake import FakeInstagram, parse_fields

BASE = "http://instagram.test/"


@pytest.fixture(name="fake")
def fake_fixture() -> FakeInstagram:
    return FakeInstagram(BASE)


@pytest.fixture(name="api")
async def api_fixture(fake: FakeInstagram) -> AsyncIterator[httpx.AsyncClient]:
    async def add_token(request: httpx.Request) -> None:
        if "access_token" not in request.url.params:
            request.url = request.url.copy_merge_params({"access_token": fake.token})

    transport = httpx.ASGITransport(app=fake.app())
    hooks = {"request": [add_token]}
    async with httpx.AsyncClient(transport=transport, base_url=BASE, event_hooks=hooks) as client:
        yield client


def test_parse_fields() -> None:
    """Field expansion braces nest: `children{id,media_type}` selects inside the edge."""
    assert {"id": None, "children": {"id": None, "media_type": None}, "caption": None} == (
        parse_fields("id,children{id,media_type},caption")
    )


async def test_only_requested_fields(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """A node answers with exactly the requested fields (`fields=`)."""
    media_id = fake.add_media(caption="hi")
    response = await api.get(f"/{media_id}", params={"fields": "id,caption"})
    assert {"id": media_id, "caption": "hi"} == response.json()


async def test_next_link_is_followable(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """`paging.next` fetches the following page, and the last page has no `next`."""
    for _ in range(3):
        fake.add_media()
    first = (await api.get("/me/media", params={"limit": 2})).json()
    second = (await api.get(first["paging"]["next"])).json()
    assert (2, 1, False) == (len(first["data"]), len(second["data"]), "next" in second["paging"])


async def test_versioned_path(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """A leading version segment is ignored, as graph.instagram.com serves both."""
    response = await api.get("/v25.0/me", params={"fields": "username"})
    assert {"username": fake.username} == response.json()


async def test_cdn_serves_jpeg(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """An image's media_url serves a real JPEG."""
    media_id = fake.add_media()
    url = (await api.get(f"/{media_id}", params={"fields": "media_url"})).json()["media_url"]
    image = Image.open(io.BytesIO((await api.get(url)).content))
    assert "JPEG" == image.format


async def test_fail_next_then_recover(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """`fail_next(2)` fails exactly the next two calls with Meta's error object."""
    fake.fail_next(2, status=429)
    statuses = [(await api.get("/me")).status_code for _ in range(3)]
    assert [429, 429, 200] == statuses


async def test_usage_headers(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """`set_usage` adds X-App-Usage and X-Business-Use-Case-Usage."""
    fake.set_usage(85, regain_minutes=3)
    headers = (await api.get("/me")).headers
    buc = orjson.loads(headers["X-Business-Use-Case-Usage"])[fake.user_id][0]
    assert (85, 85, 3) == (
        orjson.loads(headers["X-App-Usage"])["call_count"],
        buc["call_count"],
        buc["estimated_time_to_regain_access"],
    )


async def test_owner_comment_via_api(api: httpx.AsyncClient, fake: FakeInstagram) -> None:
    """A comment posted through the API is authored by the account."""
    media_id = fake.add_media()
    response = await api.post(f"/{media_id}/comments", data={"message": "hello"})
    comment = fake.comments[response.json()["id"]]
    assert (fake.username, fake.user_id) == (comment.username, comment.from_id)


def test_delete_comment_removes_replies(fake: FakeInstagram) -> None:
    """Deleting a comment also removes its replies."""
    media_id = fake.add_media()
    parent = fake.add_comment(media_id, "q")
    fake.add_comment(media_id, "a", parent_id=parent)
    fake.delete_comment(parent)
    assert {} == fake.comments


@pytest.mark.parametrize("shape", ["changes", "flat"])
def test_signed_webhook(fake: FakeInstagram, shape: str) -> None:
    """The webhook body is signed with HMAC-SHA256 of the raw body and the app secret."""
    media_id = fake.add_media()
    comment_id = fake.add_comment(media_id, "hey", username="ann")
    body, signature = fake.signed_webhook(fake.webhook_payload(comment_id, shape=shape))
    expected = hmac.new(fake.app_secret.encode(), body, hashlib.sha256).hexdigest()
    assert f"sha256={expected}" == signature


@pytest.mark.parametrize("shape", ["changes", "flat"])
def test_webhook_payload_shapes(fake: FakeInstagram, shape: str) -> None:
    """Both payload shapes carry the comment's id, author, text, media and parent."""
    media_id = fake.add_media()
    parent = fake.add_comment(media_id, "q")
    reply = fake.add_comment(media_id, "a", username="bob", parent_id=parent)
    payload: Any = fake.webhook_payload(reply, shape=shape)
    if shape == "changes":
        value = payload["entry"][0]["changes"][0]["value"]
    else:
        value = payload[0]["entry"][0]["value"]
    assert (reply, "bob", "a", media_id, parent) == (
        value["id"],
        value["from"]["username"],
        value["text"],
        value["media"]["id"],
        value["parent_id"],
    )
