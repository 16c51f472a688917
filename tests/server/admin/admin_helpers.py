"""Helpers for signing in to the admin in tests: the password, a second client, CSRF tokens.

The fixtures built on them (`fast_hashing`, `password`, `signed_in`) are in tests/conftest.py,
for the feature tests that use the admin too; `open_client`, `csrf_in` and `login` in
tests/server/admin/conftest.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from argon2 import PasswordHasher

from hearth.app import create_app
from hearth.server.core.settings import Settings

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app and client for `settings` (e.g. a plain-http site)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
            yield client


def csrf_in(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


async def post_login(client: httpx.AsyncClient, password: str) -> httpx.Response:
    """Fetch the sign-in form (for its CSRF token and cookie) and submit `password`."""
    form = await client.get("/admin/login")
    return await client.post(
        "/admin/login", data={"csrf_token": csrf_in(form.text), "password": password}
    )
