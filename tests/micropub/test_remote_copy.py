"""Media given by URL copied into the media store when HEARTH_MEDIA_COPY_REMOTE is on."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from hearth.app import create_app
from hearth.server.core.events import post_changed
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.wiring import job_handlers
from tests.conftest import BASE_URL, seed_database

REMOTE = "https://cdn.example/cat.png"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "orange").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(name="copy_settings")
def copy_settings_fixture(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, media_copy_remote=True, allowed_private_networks=ALL_NETWORKS
    )


@pytest.fixture(name="copy_app")
async def copy_app_fixture(copy_settings: Settings, migrated_sqlite) -> AsyncIterator[Starlette]:  # type: ignore[no-untyped-def]
    seed_database(copy_settings, migrated_sqlite)
    app = create_app(copy_settings)
    async with app.router.lifespan_context(app):
        yield app


async def run_jobs(settings: Settings, handler: httpx.MockTransport) -> None:
    async with create_http_client(settings, transport=handler) as http:
        worker = Worker(settings, job_handlers(), http=http)
        while await worker.run_once():
            pass


async def test_remote_photo_is_copied_and_post_points_at_it(
    copy_app: Starlette, copy_settings: Settings
) -> None:
    """After the job runs, the post's photo is a local media URL serving the same image."""
    post = await create_post({"photo": [{"value": REMOTE, "alt": "A cat"}]})
    await post_changed(copy_settings, post)
    await run_jobs(
        copy_settings, httpx.MockTransport(lambda r: httpx.Response(200, content=png_bytes()))
    )
    stored = await Post.get(id=post.id)
    photo = stored.properties["photo"][0]
    assert photo["value"].startswith(BASE_URL + "media/")
    assert "A cat" == photo["alt"]
    transport = httpx.ASGITransport(app=copy_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        served = await client.get(photo["value"])
    assert "image/png" == served.headers["content-type"]


async def test_copy_is_off_by_default(client: httpx.AsyncClient, settings: Settings) -> None:
    """Without the setting, a remote photo is linked as given and no job is queued."""
    post = await create_post({"photo": [REMOTE]})
    await post_changed(settings, post)
    assert 0 == await Job.filter(kind="media.copy_remote").count()


async def test_not_an_image_gives_up_and_keeps_the_link(
    copy_app: Starlette, copy_settings: Settings
) -> None:
    """A URL that serves HTML is refused; the post keeps its remote URL and the job is dead."""
    post = await create_post({"photo": [REMOTE]})
    await post_changed(copy_settings, post)
    await run_jobs(copy_settings, httpx.MockTransport(lambda r: httpx.Response(200, text="<html>")))
    assert [REMOTE] == (await Post.get(id=post.id)).properties["photo"]
    job = await Job.get(kind="media.copy_remote")
    assert JobState.DEAD == job.state
