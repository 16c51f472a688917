"""Fixtures shared by the tests in tests/server."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.db import connect, migrate
from server.settings import Settings


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once per test session.

    Migrating takes ~80 ms; copying the result into each test's data dir takes ~1 ms. It
    runs on its own short-lived event loop and closes its connections, so no Tortoise state
    crosses into the tests' loops.
    """
    settings = Settings(data_dir=tmp_path_factory.mktemp("migrated"))
    asyncio.run(migrate(settings))
    return settings.data_dir / "hearth.sqlite3"


@pytest.fixture(name="db")
async def db_fixture(settings: Settings, migrated_sqlite: Path) -> AsyncIterator[None]:
    """A migrated SQLite database in the test's data dir, open for this test only.

    Function-scoped on purpose: a wider scope runs Tortoise on another event loop than the
    test's (see dependencies.md §4).
    """
    settings.ensure_dirs()
    shutil.copyfile(migrated_sqlite, settings.data_dir / "hearth.sqlite3")
    async with connect(settings, run_migrations=False):
        yield
