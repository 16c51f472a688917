"""Shared fixtures: real settings in a temp dir, the real app, a client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from server.app import create_app
from server.settings import Settings

BASE_URL = "https://example.test/"


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path) -> Settings:
    return Settings(
        url=BASE_URL,
        data_dir=tmp_path / "data",
        name="Alice Example",
        photo="https://example.test/alice.jpg",
        note="Writes things.",
        page_size=5,
    )


@pytest.fixture(name="app")
async def app_fixture(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with its lifespan entered (ASGITransport does not run lifespans itself)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(name="client")
async def client_fixture(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client
