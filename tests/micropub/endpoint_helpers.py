"""Helpers for the Micropub endpoint tests: tokens, requests as clients send them, images."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import mf2py
import orjson
from PIL import Image

from hearth.micropub import follow_up
from hearth.server.core import job_queue
from hearth.server.core.job_worker import JobContext
from hearth.server.core.settings import Settings
from hearth.server.core.tokens import mint_token
from tests.conftest import BASE_URL

ENDPOINT = BASE_URL + "micropub"
ALL_SCOPES = "create update delete undelete"
FORM_TYPE = "application/x-www-form-urlencoded"


async def bearer(scope: str = ALL_SCOPES, client_id: str | None = None) -> dict[str, str]:
    """An Authorization header with a fresh token of `scope`."""
    secret, _ = await mint_token(me=BASE_URL, scope=scope, client_id=client_id)
    return {"Authorization": f"Bearer {secret}"}


async def post_form(
    client: httpx.AsyncClient, body: str | bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a literal form body (as micropub.rocks does: `category[]` unencoded)."""
    content = body.encode() if isinstance(body, str) else body
    return await client.post(
        ENDPOINT, content=content, headers={"Content-Type": FORM_TYPE, **(headers or {})}
    )


async def post_json(
    client: httpx.AsyncClient, doc: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a JSON body with the Content-Type and Accept micropub.rocks sends."""
    return await client.post(
        ENDPOINT,
        content=orjson.dumps(doc),
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 **(headers or {})},
    )  # fmt: skip


async def create(
    client: httpx.AsyncClient, headers: dict[str, str], properties: dict[str, list[Any]]
) -> str:
    """Create an h-entry by JSON and return its Location."""
    response = await post_json(client, {"type": ["h-entry"], "properties": properties}, headers)
    assert 201 == response.status_code, response.text
    location: str = response.headers["location"]
    return location


async def source(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, *properties: str
) -> httpx.Response:
    """GET q=source for `url`, optionally with properties[]."""
    params = [("q", "source"), *(("properties[]", p) for p in properties), ("url", url)]
    return await client.get(ENDPOINT, params=params, headers=headers)


# How q=source gives the publication time Hearth chose for a post sent without one.
CHOSEN_PUBLISHED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


async def stored(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> dict[str, Any]:
    """The post's properties as q=source gives them back, as the client sent them.

    A post sent without `published` comes back with the time Hearth chose, in whole seconds
    of UTC: that is checked here and left out, so tests compare with what they sent.
    """
    response = await source(client, headers, url)
    assert 200 == response.status_code, response.text
    properties: dict[str, Any] = response.json()["properties"]
    published = properties.get("published", [])
    if len(published) == 1 and CHOSEN_PUBLISHED.fullmatch(published[0]):
        del properties["published"]
    return properties


def entry_of(response: httpx.Response) -> dict[str, Any]:
    """The h-entry (or h-event) of a rendered permalink, parsed with mf2py."""
    doc = mf2py.parse(doc=response.text, url=str(response.url))
    for item in doc["items"]:
        if {"h-entry", "h-event"} & set(item["type"]):
            found: dict[str, Any] = item
            return found
    raise AssertionError(f"no h-entry in {response.url}")


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real image in `fmt`, as a client would upload it."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, fmt)
    return buffer.getvalue()


def error_of(response: httpx.Response) -> str:
    """The Micropub `error` code of a JSON error response (and check that it is JSON)."""
    assert response.headers["content-type"] == "application/json"
    assert response.content.startswith(b"{")
    error: str = response.json()["error"]
    return error


async def run_follow_ups(settings: Settings) -> int:
    """Run the follow-up jobs Micropub creates queued (`hearth.micropub.follow_up`) as a
    worker would, through the real handler, lease and completion: the post-change
    listeners hear of the new posts. How many ran."""
    owner = "tests-follow-ups"
    jobs = await job_queue.claim_many(owner, [follow_up.KIND], 60, 1000)
    for job in jobs:
        await follow_up.tell(JobContext(settings, None, job), job.payload)
        assert await job_queue.complete(job, owner)
    return len(jobs)
