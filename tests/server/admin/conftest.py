"""Admin test fixtures: cheap password hashing for every test here, a second client, reading
CSRF tokens and signing in (the helpers are in admin_helpers; `password` and `signed_in` are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from hearth.server.core.settings import Settings
from tests.asgi_client import app_client
from tests.server.admin.admin_helpers import csrf_in, post_login


@pytest.fixture(autouse=True)
def admin_hashing(fast_hashing: None) -> None:
    """Every admin test hashes with cheap argon2id parameters (see `fast_hashing`)."""


@pytest.fixture(name="open_client")
def open_client_fixture() -> Callable[[Settings], object]:
    return app_client


@pytest.fixture(name="csrf_in")
def csrf_in_fixture() -> Callable[[str], str]:
    """Read the hidden `csrf_token` field out of a page."""
    return csrf_in


@pytest.fixture(name="login")
def login_fixture() -> Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]:
    return post_login
