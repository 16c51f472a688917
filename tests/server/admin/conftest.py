"""Admin test fixtures: the owner's password, signing in, and reading CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette

from hearth.app import create_app
from hearth.server.admin import passwords, set_password
from hearth.server.core.settings import Settings

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: the production ones cost ~0.2 s per hash, per test."""
    monkeypatch.setattr(passwords, "_hasher", FAST_HASHER)


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app and client for `settings` (e.g. a plain-http site)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
            yield client


@pytest.fixture(name="open_client")
def open_client_fixture() -> Callable[[Settings], object]:
    return open_client


@pytest.fixture(name="password")
async def password_fixture(app: Starlette) -> str:
    """The owner's password, already set."""
    await set_password(PASSWORD)
    return PASSWORD


def csrf_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


@pytest.fixture(name="csrf_in")
def csrf_in_fixture() -> Callable[[str], str]:
    """Read the hidden `csrf_token` field out of a page."""
    return csrf_in


async def post_login(client: httpx.AsyncClient, password: str) -> httpx.Response:
    """Fetch the sign-in form (for its CSRF token and cookie) and submit `password`."""
    form = await client.get("/admin/login")
    return await client.post(
        "/admin/login", data={"csrf_token": csrf_in(form.text), "password": password}
    )


@pytest.fixture(name="login")
def login_fixture() -> Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]:
    return post_login


@pytest.fixture(name="signed_in")
async def signed_in_fixture(client: httpx.AsyncClient, password: str) -> str:
    """Sign `client` in; returns the session's CSRF token (from the dashboard)."""
    response = await post_login(client, password)
    assert response.status_code == 303, response.text
    dashboard = await client.get("/admin/")
    assert dashboard.status_code == 200
    return csrf_in(dashboard.text)
