"""Helpers for signing in to the admin in tests: the password and CSRF tokens.

The fixtures built on them (`fast_hashing`, `password`, `signed_in`) are in tests/conftest.py,
for the feature tests that use the admin too; `open_client`, `csrf_in` and `login` in
tests/server/admin/conftest.py.
"""

from __future__ import annotations

import re

import httpx
from argon2 import PasswordHasher

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


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
