"""Which database the suite runs on: SQLite (the default) or PostgreSQL (`.ci/run`'s 2nd pass).

`HEARTH_TEST_STORE=postgres` (with `HEARTH_TEST_DATABASE_URL` naming a PostgreSQL database)
runs every test that touches the database on PostgreSQL instead: the root conftest's
`settings` fixture then points at one schema of that database, made and migrated once per
run and emptied before each test, and `hearth` commands started by tests inherit it through
`HEARTH_DATABASE_URL`. Tests that are about one store only (SQLite's PRAGMAs and files, the
PostgreSQL twins of the SQLite tests) carry the `one_store` mark and run in the first pass.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from hearth.server.core.db import migrate
from hearth.server.core.settings import Settings

T = TypeVar("T")

STORE_VARIABLE = "HEARTH_TEST_STORE"
URL_VARIABLE = "HEARTH_TEST_DATABASE_URL"
# One schema per pytest process, so two runs at once (two engineers, CI and a bench) never
# empty each other's tables; dropped when the run ends.
SCHEMA = f"hearth_test_suite_{os.getpid()}"

# Fixtures whose use means a test reads or writes the database (directly or through the app).
DATABASE_FIXTURES = frozenset({"settings", "app", "client", "db"})


def blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end on an event loop of its own, in a thread: fixtures call this
    while a loop may already run in this one (Playwright's sync API keeps one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def chosen_store() -> str:
    """ "sqlite" or "postgres"; anything else is a mistake worth stopping for."""
    store = os.environ.get(STORE_VARIABLE, "sqlite").strip().lower() or "sqlite"
    if store not in {"sqlite", "postgres"}:
        raise pytest.UsageError(f"{STORE_VARIABLE} must be sqlite or postgres, not {store!r}")
    return store


def on_postgres() -> bool:
    return chosen_store() == "postgres"


def server_url() -> str:
    """The PostgreSQL server's URL (its own database, no schema option)."""
    url = os.environ.get(URL_VARIABLE, "")
    if not url or not Settings(database_url=url).is_postgres:
        raise pytest.UsageError(
            f"{STORE_VARIABLE}=postgres needs {URL_VARIABLE}=postgres://user:pass@host:5432/db"
        )
    return url


def in_schema(url: str, schema: str = SCHEMA) -> str:
    """The URL with Tortoise's `schema` option, which sets the connections' search_path."""
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def _asyncpg_dsn(url: str) -> str:
    # asyncpg knows postgresql:// and postgres:// but not Tortoise's options.
    return url.split("?", 1)[0]


async def _run(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def drop_schema(url: str) -> None:
    blocking(_run(url, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


def prepare_schema(url: str, data_dir: Path) -> str:
    """A freshly made and migrated schema for this run; returns the URL that selects it."""
    blocking(_run(url, f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};"))
    schema_url = in_schema(url)
    blocking(migrate(Settings(data_dir=data_dir, database_url=schema_url)))
    return schema_url


# Emptying with DELETE is ~10x faster than TRUNCATE for tables this small (TRUNCATE swaps
# files); FK triggers are skipped (session_replication_role, superuser only: else TRUNCATE)
# and sequences restart, so ids begin at 1 as on a fresh SQLite file.
EMPTY_ALL = """
DO $$
DECLARE r record;
BEGIN
  SET LOCAL session_replication_role = replica;
  FOR r IN SELECT tablename FROM pg_tables
           WHERE schemaname = '{schema}' AND tablename <> 'tortoise_migrations' LOOP
    EXECUTE format('DELETE FROM %I.%I', '{schema}', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = '{schema}' LOOP
    PERFORM setval(format('%I.%I', '{schema}', r.sequencename), 1, false);
  END LOOP;
END $$;
"""


async def _empty_tables(url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        try:
            await conn.execute(EMPTY_ALL.format(schema=SCHEMA))
            return
        except asyncpg.InsufficientPrivilegeError:
            pass
        names = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1"
            " AND tablename <> 'tortoise_migrations'",
            SCHEMA,
        )
        if names:
            tables = ", ".join(f'{SCHEMA}."{row["tablename"]}"' for row in names)
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def empty_tables(url: str) -> None:
    """Every table of the suite's schema emptied (the record of migrations kept)."""
    blocking(_empty_tables(url))


def touches_database(item: pytest.Item) -> bool:
    """A test the PostgreSQL pass runs: it uses the database fixtures or says it needs the
    store (`store` mark: it starts `hearth` commands that open the database themselves)."""
    if item.get_closest_marker("one_store") is not None:
        return False
    if item.get_closest_marker("store") is not None:
        return True
    names = set(getattr(item, "fixturenames", ()))
    return bool(names & DATABASE_FIXTURES)


async def _fetch(url: str, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
    schema = url.split("schema=", 1)[1].split("&", 1)[0] if "schema=" in url else "public"
    conn = await asyncpg.connect(_asyncpg_dsn(url), server_settings={"search_path": schema})
    try:
        # sqlite3's "?" placeholders as PostgreSQL's $1, $2 …
        first, *rest = sql.split("?")
        numbered = first + "".join(f"${n}{part}" for n, part in enumerate(rest, 1))
        return [tuple(row) for row in await conn.fetch(numbered, *params)]
    finally:
        await conn.close()


def served_rows(env: Mapping[str, str], sql: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of `sql` (with "?" placeholders) from the database a `hearth` process started
    with `env` uses: its SQLite file, or the PostgreSQL pass's schema."""
    url = env.get("HEARTH_DATABASE_URL")
    if url:
        return blocking(_fetch(url, sql, params))
    with sqlite3.connect(Path(env["HEARTH_DATA_DIR"]) / "hearth.sqlite3", timeout=30) as db:
        return [tuple(row) for row in db.execute(sql, params)]
