"""Fixtures for the Instagram tests: the fake Instagram on 127.0.0.1, and Hearth pointed at it.

`fake` serves a fresh fake per test. A module that talks to it names its settings with

    @pytest.fixture(name="settings")
    def settings_fixture(instagram_settings: Settings) -> Settings:
        return instagram_settings

so modules that need no fake (the webhook, the zip reader) do not start one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret

from hearth.server.core.http import create_http_client
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.syndication.instagram import connection
from hearth.syndication.instagram.fake import FakeInstagram, serve_instagram
from hearth.syndication.instagram.silo_settings import InstagramSettings
from hearth.syndication.instagram.tables import InstagramAccount


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeInstagram]:
    with serve_instagram() as fake:
        yield fake


@pytest.fixture(name="instagram_settings")
def instagram_settings_fixture(settings: Settings, fake: FakeInstagram) -> Settings:
    """The test settings with the fake as the Graph API: its app id and secret, loopback
    allowed, and every Instagram comment shown at once (moderation is tested on its own)."""
    instagram = InstagramSettings(
        api_url=fake.base.rstrip("/"), app_id=fake.app_id, app_secret=Secret(fake.app_secret)
    )
    return dataclasses.replace(
        settings, sections=(instagram,), allowed_private_networks=ALL_NETWORKS, moderation="all"
    )


@pytest.fixture(name="http")
async def http_fixture(settings: Settings, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Hearth's guarded client for running jobs; depends on `app` so the database is open."""
    async with create_http_client(settings) as http:
        yield http


@pytest.fixture(name="connected")
async def connected_fixture(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> InstagramAccount:
    """The fake's account, connected as `hearth instagram connect` does (polling started)."""
    return await connection.connect(settings, http, fake.token)
