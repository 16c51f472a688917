"""Post search on PostgreSQL: the core search tests and the admin Posts page tests again.

Skipped unless HEARTH_TEST_DATABASE_URL names a PostgreSQL database, e.g.
postgres://postgres:postgres@127.0.0.1:5432/hearth_test (as test_job_queue_postgres.py).
The tests work in their own schema, dropped, recreated and migrated once per run; each test
starts with every table empty. The migration test makes a schema of its own.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import connections

from hearth.server.core.db import connect, migrate
from hearth.server.core.settings import Settings
from tests.server.admin import test_posts_page
from tests.server.core import test_search

URL_VARIABLE = "HEARTH_TEST_DATABASE_URL"
SCHEMA = "hearth_test_search"
UPGRADE_SCHEMA = "hearth_test_search_upgrade"
BASE_URL = "https://example.test/"

# Every async test of both modules, here on PostgreSQL through the fixtures below (the
# SQLite migration test has its PostgreSQL twin at the end).
globals().update(
    (name, test)
    for module in (test_search, test_posts_page)
    for name, test in vars(module).items()
    if name.startswith("test_")
    and inspect.iscoroutinefunction(test)
    and name != "test_migration_fills_the_index_with_stored_posts"
)


def in_schema(url: str, schema: str) -> str:
    """The URL with Tortoise's `schema` option, which sets the connections' search_path."""
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


async def recreate_schema(url: str, data_dir: Path, schema: str) -> None:
    """An empty `schema` (no migrations run)."""
    async with connect(Settings(data_dir=data_dir, database_url=url), run_migrations=False):
        await connections.get("default").execute_script(
            f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        )


async def empty_tables(url: str, data_dir: Path) -> None:
    """Every table of the test schema emptied, but the record of migrations."""
    async with connect(Settings(data_dir=data_dir, database_url=url), run_migrations=False):
        conn = connections.get("default")
        rows = await conn.execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1", [SCHEMA]
        )
        names = [r["tablename"] for r in rows if r["tablename"] != "tortoise_migrations"]
        if names:
            tables = ", ".join(f'"{name}"' for name in names)
            await conn.execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def base_url() -> str:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"set {URL_VARIABLE}=postgres://user:pass@host:5432/db to run this")
    if not Settings(database_url=url).is_postgres:
        pytest.skip(f"{URL_VARIABLE} is not a PostgreSQL URL")
    return url


@pytest.fixture(scope="session")
def search_pg_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test schema's URL, the schema freshly made and migrated for this run."""
    url = base_url()
    data_dir = tmp_path_factory.mktemp("pg-search")
    asyncio.run(recreate_schema(url, data_dir, SCHEMA))
    asyncio.run(migrate(Settings(data_dir=data_dir, database_url=in_schema(url, SCHEMA))))
    return in_schema(url, SCHEMA)


@pytest.fixture(name="settings")
def settings_fixture(search_pg_url: str, tmp_path: Path) -> Settings:
    """The root conftest's settings, on the emptied PostgreSQL schema."""
    asyncio.run(empty_tables(search_pg_url, tmp_path))
    return Settings(
        url=BASE_URL,
        data_dir=tmp_path / "data",
        database_url=search_pg_url,
        name="Alice Example",
        page_size=5,
    )


@pytest.fixture(name="db")
async def db_fixture(settings: Settings) -> AsyncIterator[None]:
    """The test schema, open for this test only."""
    async with connect(settings, run_migrations=False):
        yield


async def test_migration_fills_the_index_with_stored_posts_on_postgres(tmp_path: Path) -> None:
    """Upgrading a PostgreSQL database indexes the posts it already has."""
    url = base_url()
    await recreate_schema(url, tmp_path, UPGRADE_SCHEMA)
    settings = Settings(data_dir=tmp_path / "data", database_url=in_schema(url, UPGRADE_SCHEMA))
    try:
        await test_search.check_migration_fills_index(settings)
    finally:
        async with connect(Settings(data_dir=tmp_path, database_url=url), run_migrations=False):
            await connections.get("default").execute_script(
                f"DROP SCHEMA IF EXISTS {UPGRADE_SCHEMA} CASCADE"
            )
