"""Follow-up work after a post changes: queued as jobs, once per change."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import mf2py
import pytest

from hearth.app import create_app
from hearth.server.core.events import post_changed
from hearth.server.core.models import Job
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Visibility
from hearth.server.core.settings import Settings
from tests.conftest import BASE_URL

HUB = "https://hub.example/"


@pytest.fixture(name="hub_settings")
def hub_settings_fixture(settings: Settings) -> Settings:
    return dataclasses.replace(settings, websub_hub=HUB)


@pytest.fixture(name="hub_client")
async def hub_client_fixture(hub_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def test_public_change_queues_hub_pings(
    hub_client: httpx.AsyncClient, hub_settings: Settings
) -> None:
    """A public post change queues one WebSub ping per topic (home and three feeds)."""
    post = await create_post({"content": ["ping the hub"]})
    await post_changed(hub_settings, post)
    topics = sorted(job.payload["topic"] for job in await Job.filter(kind="websub.publish"))
    assert [
        BASE_URL,
        BASE_URL + "feed.atom",
        BASE_URL + "feed.json",
        BASE_URL + "feed.rss",
    ] == topics


async def test_same_change_is_announced_once(
    hub_client: httpx.AsyncClient, hub_settings: Settings
) -> None:
    """Announcing the same stored change twice queues nothing new."""
    post = await create_post({"content": ["once"]})
    await post_changed(hub_settings, post)
    await post_changed(hub_settings, post)
    assert 4 == await Job.filter(kind="websub.publish").count()


async def test_private_post_pings_nothing(
    hub_client: httpx.AsyncClient, hub_settings: Settings
) -> None:
    """A private post's change is nobody's business: no ping."""
    post = await create_post({"content": ["secret"]}, visibility=Visibility.PRIVATE)
    await post_changed(hub_settings, post)
    assert 0 == await Job.all().count()


async def test_post_leaving_view_pings(
    hub_client: httpx.AsyncClient, hub_settings: Settings
) -> None:
    """A post that was public and no longer is still changes the feeds: ping."""
    post = await create_post({"content": ["going private"]})
    post.visibility = Visibility.PRIVATE
    await post.save()
    await post_changed(hub_settings, post, was_public=True)
    assert 4 == await Job.all().count()


async def test_home_names_hub_and_self(hub_client: httpx.AsyncClient) -> None:
    """With a hub, the home page carries rel=hub and rel=self as headers and tags."""
    response = await hub_client.get("/")
    rels = mf2py.parse(doc=response.text, url=BASE_URL)["rels"]
    assert [HUB] == rels["hub"]
    assert [BASE_URL] == rels["self"]
    assert f'<{HUB}>; rel="hub"' in response.headers["link"]
    assert f'<{BASE_URL}>; rel="self"' in response.headers["link"]


async def test_permalink_does_not_claim_to_be_home(hub_client: httpx.AsyncClient) -> None:
    """rel=self names the home page only on the home page."""
    post = await create_post({"content": ["mine"]})
    response = await hub_client.get("/" + post.path)
    assert 'rel="self"' not in response.headers["link"]


async def test_no_hub_no_hub_links(client: httpx.AsyncClient) -> None:
    """Without a hub configured, no rel=hub appears."""
    response = await client.get("/")
    assert "hub" not in mf2py.parse(doc=response.text, url=BASE_URL)["rels"]
