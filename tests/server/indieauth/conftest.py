"""Fixtures for the authorization server: a site whose outbound HTTP reaches fake apps.

`apps` answers for three made-up clients through `httpx.MockTransport` (the guarded client
still wraps it; private networks are allowed, so the made-up hosts need no DNS):
https://app.example/ publishes a Client ID Metadata Document, https://oldapp.example/ an
h-app page with a `rel=redirect_uri` link, https://bare.example/ a page that says nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hearth.app import create_app
from hearth.server.admin import set_password
from hearth.server.core.settings import ALL_NETWORKS, Settings
from tests.conftest import BASE_URL, seed_database
from tests.server.admin.admin_helpers import PASSWORD, post_login

APP = "https://app.example/"
APP_CALLBACK = "https://app.example/callback"
APP_ELSEWHERE = "https://login.app-cdn.example/cb"
OLD_APP = "https://oldapp.example/"
OLD_APP_ELSEWHERE = "https://oldapp-login.example/done"
BARE = "https://bare.example/"


@dataclass
class FakeApps:
    """The apps' pages, and every URL Hearth fetched."""

    fetched: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.fetched.append(url)
        if url == APP:
            document = {
                "client_id": APP,
                "client_name": "Example App",
                "client_uri": APP,
                "logo_uri": "https://app.example/logo.png",
                "redirect_uris": [APP_CALLBACK, APP_ELSEWHERE],
            }
            return httpx.Response(200, json=document)
        if url == OLD_APP:
            html = (
                '<!doctype html><link rel="redirect_uri" href="https://oldapp-login.example/done">'
                '<div class="h-app"><img class="u-logo" src="/icon.png" alt="">'
                '<a class="p-name u-url" href="/">Old App</a></div>'
            )
            return httpx.Response(200, html=html)
        if url == BARE:
            return httpx.Response(200, html="<!doctype html><p>Hello</p>")
        return httpx.Response(404, text="not here")


@pytest.fixture(name="apps")
def apps_fixture() -> FakeApps:
    return FakeApps()


@pytest.fixture(name="auth_settings")
def auth_settings_fixture(settings: Settings) -> Settings:
    return replace(settings, allowed_private_networks=ALL_NETWORKS)


@pytest.fixture(name="auth_app")
async def auth_app_fixture(
    auth_settings: Settings, migrated_sqlite: Path, apps: FakeApps
) -> AsyncIterator[Starlette]:
    seed_database(auth_settings, migrated_sqlite)
    app = create_app(auth_settings, http_transport=httpx.MockTransport(apps.handle))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(name="browser")
async def browser_fixture(auth_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The owner's browser (not signed in yet)."""
    transport = httpx.ASGITransport(app=auth_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture(name="owner")
async def owner_fixture(browser: httpx.AsyncClient, fast_hashing: None) -> httpx.AsyncClient:
    """The owner's browser, signed in."""
    await set_password(PASSWORD)
    response = await post_login(browser, PASSWORD)
    assert response.status_code == 303
    return browser


@pytest.fixture(name="app_client")
async def app_client_fixture(auth_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The app's own HTTP client (no cookies of the owner's)."""
    transport = httpx.ASGITransport(app=auth_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def as_json(response: httpx.Response) -> dict[str, object]:
    data = json.loads(response.text)
    assert isinstance(data, dict)
    return data
