"""Fixtures shared by the tests in tests/server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hearth.server.core.db import connect
from hearth.server.core.settings import Settings
from tests.conftest import seed_database


@pytest.fixture(name="db")
async def db_fixture(settings: Settings, migrated_sqlite: Path) -> AsyncIterator[None]:
    """A migrated SQLite database in the test's data dir, open for this test only.

    Function-scoped on purpose: a wider scope runs Tortoise on another event loop than the
    test's (each test has its own: `asyncio_default_fixture_loop_scope = "function"`), and
    Tortoise then reconnects, or leaves a connection behind that hangs pytest at exit.
    """
    seed_database(settings, migrated_sqlite)
    async with connect(settings, run_migrations=False):
        yield
