"""Micropub create: form, multipart and JSON; commands; receipts (Micropub §3.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hearth.micropub import follow_up
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.settings import Settings
from hearth.wiring import job_handlers
from tests.conftest import BASE_URL
from tests.micropub.endpoint_helpers import (
    ENDPOINT,
    bearer,
    create,
    entry_of,
    image_bytes,
    post_form,
    stored,
)


async def test_form_create_answers_201_with_location_and_shortlink(
    client: httpx.AsyncClient,
) -> None:
    """201, an absolute Location that serves the post, and a rel=shortlink to it (§3.3.6)."""
    response = await post_form(client, "h=entry&content=Hello+world", await bearer())
    assert 201 == response.status_code
    location = response.headers["location"]
    assert location.startswith(BASE_URL)
    page = await client.get(location)
    assert 200 == page.status_code
    assert ["Hello world"] == [c["value"] for c in entry_of(page)["properties"]["content"]]
    short = response.links["shortlink"]["url"]
    assert location == (await client.get(short)).headers["location"]


async def test_json_create(client: httpx.AsyncClient) -> None:
    """A JSON create stores its properties as sent (§3.3.2)."""
    headers = await bearer()
    location = await create(client, headers, {"content": ["JSON note"], "category": ["a"]})
    assert {"content": ["JSON note"], "category": ["a"]} == await stored(client, headers, location)


async def test_type_defaults_to_entry(client: httpx.AsyncClient) -> None:
    """Without `h` the post is an h-entry (§3.3)."""
    headers = await bearer()
    location = (await post_form(client, "content=No+type", headers)).headers["location"]
    response = await client.get(ENDPOINT, params={"q": "source", "url": location}, headers=headers)
    assert ["h-entry"] == response.json()["type"]


async def test_event_create(client: httpx.AsyncClient) -> None:
    """h=event creates an h-event."""
    headers = await bearer()
    body = "h=event&name=Launch+party&start=2026-06-01T18:00:00Z&location=The+Pub"
    location = (await post_form(client, body, headers)).headers["location"]
    response = await client.get(ENDPOINT, params={"q": "source", "url": location}, headers=headers)
    assert ["h-event"] == response.json()["type"]
    assert "event" == (await Post.get()).post_type


async def test_array_and_single_values(client: httpx.AsyncClient) -> None:
    """`name[]` and a single `name` both give arrays (§3.3, micropub.rocks 101 and 107)."""
    headers = await bearer()
    body = "content=x&category[]=one&category[]=two&syndication=https://silo.example/1"
    location = (await post_form(client, body, headers)).headers["location"]
    properties = await stored(client, headers, location)
    assert ["one", "two"] == properties["category"]
    assert ["https://silo.example/1"] == properties["syndication"]


async def test_raw_utf8_form_body(client: httpx.AsyncClient) -> None:
    """A form body with unencoded UTF-8 (curl -d) is read as UTF-8, not Latin-1."""
    headers = await bearer()
    response = await post_form(client, "content=café ☕ %C3%A9".encode(), headers)
    assert ["café ☕ é"] == (await stored(client, headers, response.headers["location"]))["content"]


async def test_nested_object_with_numbers(client: httpx.AsyncClient) -> None:
    """A nested h-card keeps its structure and its JSON numbers (§3.3.3)."""
    headers = await bearer()
    card = {"type": ["h-card"], "properties": {"name": ["Cafe"], "latitude": [45.52]}}
    location = await create(client, headers, {"content": ["Lunch"], "checkin": [card]})
    assert [card] == (await stored(client, headers, location))["checkin"]


async def test_html_content_is_rendered(client: httpx.AsyncClient) -> None:
    """HTML content is stored as {"html"} and rendered as markup, not escaped."""
    headers = await bearer()
    html = "<p>Some <b>bold</b> text</p>"
    location = await create(client, headers, {"content": [{"html": html}]})
    assert [{"html": html}] == (await stored(client, headers, location))["content"]
    page = await client.get(location)
    assert "<b>bold</b>" in page.text
    assert "&lt;b&gt;" not in page.text


async def test_unknown_properties_are_kept(client: httpx.AsyncClient) -> None:
    """Properties Hearth does not know are stored and given back (§3.3.5)."""
    headers = await bearer()
    location = await create(client, headers, {"content": ["x"], "x-mood": ["sunny"]})
    assert ["sunny"] == (await stored(client, headers, location))["x-mood"]


async def test_reserved_keys_are_not_properties(client: httpx.AsyncClient) -> None:
    """h, access_token, url and mp-* never become properties (§3.2)."""
    headers = await bearer()
    body = "h=entry&content=x&url=https://evil.example/&mp-slug=kept-out&mp-unknown=1"
    location = (await post_form(client, body, headers)).headers["location"]
    assert {"content": ["x"]} == await stored(client, headers, location)


async def test_photo_by_url_with_alt(client: httpx.AsyncClient) -> None:
    """A photo URL with alt text (JSON) is stored and rendered with its alt (§3.3.2)."""
    headers = await bearer()
    photo = {"value": "https://photos.example/sunset.jpg", "alt": "A sunset"}
    location = await create(client, headers, {"content": ["x"], "photo": [photo]})
    assert [photo] == (await stored(client, headers, location))["photo"]
    assert [photo] == entry_of(await client.get(location))["properties"]["photo"]


async def test_form_photo_alt(client: httpx.AsyncClient) -> None:
    """mp-photo-alt pairs alt text with a form photo URL."""
    headers = await bearer()
    body = "content=x&photo=https://photos.example/a.jpg&mp-photo-alt=Alt+text"
    location = (await post_form(client, body, headers)).headers["location"]
    expected = [{"value": "https://photos.example/a.jpg", "alt": "Alt text"}]
    assert expected == (await stored(client, headers, location))["photo"]


async def test_multipart_photo_upload(client: httpx.AsyncClient) -> None:
    """An uploaded photo is stored, and the post links to its public media URL (§3.3.1)."""
    headers = await bearer()
    response = await client.post(
        ENDPOINT,
        data={"h": "entry", "content": "Nice sunset"},
        files={"photo": ("sunset.jpg", image_bytes(), "image/jpeg")},
        headers=headers,
    )
    assert 201 == response.status_code, response.text
    [photo] = (await stored(client, headers, response.headers["location"]))["photo"]
    assert photo.startswith(BASE_URL + "media/")
    served = await client.get(photo)
    assert 200 == served.status_code
    assert "image/jpeg" == served.headers["content-type"]


async def test_multipart_several_photos_in_order(client: httpx.AsyncClient) -> None:
    """`photo[]` parts become the photo list, URL values first, then uploads in order."""
    headers = await bearer()
    files = [
        ("photo[]", ("one.png", image_bytes("PNG"), "image/png")),
        ("photo[]", ("two.gif", image_bytes("GIF"), "image/gif")),
    ]
    data = {"content": "two photos", "photo[]": "https://photos.example/first.jpg"}
    response = await client.post(ENDPOINT, data=data, files=files, headers=headers)
    photos = (await stored(client, headers, response.headers["location"]))["photo"]
    assert 3 == len(photos)
    assert "https://photos.example/first.jpg" == photos[0]
    types = [(await client.get(url)).headers["content-type"] for url in photos[1:]]
    assert ["image/png", "image/gif"] == types


# The magic bytes of a WebM video and an MP3 with an ID3 tag: enough for type detection.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\0" * 64
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\0" * 64


async def test_multipart_video_and_audio(client: httpx.AsyncClient) -> None:
    """`video` and `audio` parts are stored and served with their types (§3.3.1)."""
    headers = await bearer()
    files = [("video", ("clip.webm", WEBM, "video/webm")), ("audio", ("a.mp3", MP3, "audio/mpeg"))]
    response = await client.post(ENDPOINT, data={"content": "AV"}, files=files, headers=headers)
    assert 201 == response.status_code, response.text
    properties = await stored(client, headers, response.headers["location"])
    [video], [audio] = properties["video"], properties["audio"]
    assert "video/webm" == (await client.get(video)).headers["content-type"]
    assert "audio/mpeg" == (await client.get(audio)).headers["content-type"]


async def test_slug(client: httpx.AsyncClient) -> None:
    """mp-slug names the permalink."""
    response = await post_form(client, "content=x&mp-slug=My+Own+Slug", await bearer())
    assert response.headers["location"].endswith("/my-own-slug")


async def test_syndicate_to_is_stored_for_later(client: httpx.AsyncClient) -> None:
    """mp-syndicate-to is kept on the post (for syndication jobs), not as a property."""
    body = "content=x&mp-syndicate-to[]=https://silo.example/&mp-syndicate-to[]=other"
    await post_form(client, body, await bearer())
    post = await Post.get()
    assert ["https://silo.example/", "other"] == post.syndicate_to
    assert "mp-syndicate-to" not in post.properties


async def test_draft_is_not_shown(client: httpx.AsyncClient) -> None:
    """post-status=draft stores a draft: no public page, not on the home page."""
    response = await post_form(client, "content=Secret+draft&post-status=draft", await bearer())
    assert Status.DRAFT == (await Post.get()).status
    assert 404 == (await client.get(response.headers["location"])).status_code
    assert "Secret draft" not in (await client.get("/")).text


@pytest.mark.parametrize(
    ("visibility", "page_status"),
    [("unlisted", 200), ("private", 404)],
)
async def test_visibility(client: httpx.AsyncClient, visibility: str, page_status: int) -> None:
    """Unlisted posts have a page but are not listed; private posts have none."""
    body = f"content=Hidden+one&visibility={visibility}"
    response = await post_form(client, body, await bearer())
    assert Visibility(visibility) == (await Post.get()).visibility
    assert page_status == (await client.get(response.headers["location"])).status_code
    assert "Hidden one" not in (await client.get("/")).text


async def test_published_is_kept(client: httpx.AsyncClient) -> None:
    """A published date from the client dates the post and its path."""
    headers = await bearer()
    properties = {"content": ["Old news"], "published": ["2017-05-31T12:03:36-07:00"]}
    location = await create(client, headers, properties)
    assert location.startswith(BASE_URL + "2017/05/")
    assert datetime(2017, 5, 31, 19, 3, 36, tzinfo=UTC) == (await Post.get()).published
    assert properties == await stored(client, headers, location)


async def test_follow_up_work_is_queued_with_the_post_and_announced_once(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create commits one follow-up job with the post; the worker runs it, which calls
    post_changed once for the post, so pings and webmentions get queued."""
    calls: list[dict[str, Any]] = []

    async def record(settings: object, post: Post, **kwargs: Any) -> None:
        calls.append({"post": post.id, **kwargs})

    monkeypatch.setattr(follow_up, "post_changed", record)
    await post_form(client, "content=x", await bearer())
    post = await Post.get()
    queued = await Job.filter(kind=follow_up.KIND).values_list("payload", flat=True)
    assert [{"post_id": post.id}] == queued
    assert [] == calls  # not in the request
    worker = Worker(settings, job_handlers())
    while await worker.run_once():
        pass
    assert [{"post": post.id}] == calls
    assert [JobState.DONE] == await Job.filter(kind=follow_up.KIND).values_list("state", flat=True)


async def test_nul_characters_are_dropped_from_what_is_stored(client: httpx.AsyncClient) -> None:
    """NUL means nothing in text and PostgreSQL cannot store it: a create keeps the rest of
    the text, the same on both stores, instead of failing."""
    headers = await bearer()
    location = await create(client, headers, {"content": ["tea\u0000 time"], "x\u0000": ["y"]})
    assert {"content": ["tea time"], "x": ["y"]} == await stored(client, headers, location)


async def test_nul_characters_are_dropped_from_an_update(client: httpx.AsyncClient) -> None:
    """The same for an update's values."""
    headers = await bearer()
    location = await create(client, headers, {"content": ["before"]})
    update = {"action": "update", "url": location, "replace": {"content": ["af\u0000ter"]}}
    response = await client.post(ENDPOINT, json=update, headers=headers)
    assert response.status_code in (200, 204)
    assert {"content": ["after"]} == await stored(client, headers, location)
