"""Shared fixtures: real settings in a temp dir, the real app, a client over ASGI.

Also what tests in more than one directory use: the owner's password and a signed-in admin
session (the admin's own tests, and the sections features add to it), and a public post to
respond to (webmentions, Instagram backfeed).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hearth import wiring
from hearth.app import create_app
from hearth.server.admin import passwords, set_password
from hearth.server.core.db import migrate
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from tests import stores
from tests.server.admin.admin_helpers import FAST_HASHER, PASSWORD, csrf_in, post_login

BASE_URL = "https://example.test/"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass (`HEARTH_TEST_STORE=postgres`, see tests/stores.py) runs the
    tests that touch the database; the others ran in the first pass and would only repeat."""
    if not stores.on_postgres():
        return
    kept = [item for item in items if stores.touches_database(item)]
    dropped = [item for item in items if not stores.touches_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """On the PostgreSQL pass, the URL of the run's schema (migrated once, dropped after)."""
    if not stores.on_postgres():
        yield None
        return
    wiring.install(wiring.features())  # the silos' tables too
    server = stores.server_url()
    yield stores.prepare_schema(server, tmp_path_factory.mktemp("pg"))
    stores.drop_schema(server)


@pytest.fixture(autouse=True)
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """On the PostgreSQL pass, every test that touches the database starts with empty tables,
    and `hearth` commands it starts open the same schema (through HEARTH_DATABASE_URL)."""
    if not stores.on_postgres() or not stores.touches_database(request.node):
        return None
    url: str = request.getfixturevalue("postgres_url")
    stores.empty_tables(url)
    monkeypatch.setenv("HEARTH_DATABASE_URL", url)
    return url


@pytest.fixture(autouse=True)
def installed_features() -> None:
    """Every feature is installed (its tables, its post-change listeners), as the app, the
    worker and the commands install them, also in tests that make no app."""
    wiring.install(wiring.features())


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, store: str | None) -> Settings:
    """The site's settings: a data dir of the test's own, and the database of the pass
    (SQLite in that data dir, or the PostgreSQL pass's emptied schema)."""
    return Settings(
        url=BASE_URL,
        data_dir=tmp_path / "data",
        database_url=store,
        name="Alice Example",
        photo="https://example.test/alice.jpg",
        note="Writes things.",
        page_size=5,
    )


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once per test session.

    Migrating a new file takes ~0.3 s; copying this one into a test's data dir ~1 ms, after
    which the app's start-up migration finds nothing to do. It runs on its own short-lived
    event loop and closes its connections, so no Tortoise state crosses into the tests.
    """
    settings = Settings(data_dir=tmp_path_factory.mktemp("migrated"))
    wiring.install(wiring.features())  # the silos' tables too
    asyncio.run(migrate(settings))
    return settings.data_dir / "hearth.sqlite3"


def seed_database(settings: Settings, migrated_sqlite: Path) -> None:
    """Give `settings` a migrated database, unless its data dir has one already."""
    settings.ensure_dirs()
    target = settings.data_dir / "hearth.sqlite3"
    if not target.exists() and not settings.database_url:
        shutil.copyfile(migrated_sqlite, target)


@pytest.fixture(name="app")
async def app_fixture(settings: Settings, migrated_sqlite: Path) -> AsyncIterator[Starlette]:
    """The app with its lifespan entered (ASGITransport does not run lifespans itself)."""
    seed_database(settings, migrated_sqlite)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(name="client")
async def client_fixture(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture(name="anonymous")
async def anonymous_fixture(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of its own, never signed in and with no cookie (`client` may be the owner's):
    the reader the shared page cache serves."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as reader:
        yield reader


# The admin: its password and a signed-in session ----------------------------------------------


@pytest.fixture(name="fast_hashing")
def fast_hashing_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: the production ones cost ~0.2 s per hash, per test."""
    monkeypatch.setattr(passwords, "_hasher", FAST_HASHER)


@pytest.fixture(name="password")
async def password_fixture(app: Starlette, fast_hashing: None) -> str:
    """The owner's password, already set (hashed cheaply)."""
    await set_password(PASSWORD)
    return PASSWORD


@pytest.fixture(name="signed_in")
async def signed_in_fixture(client: httpx.AsyncClient, password: str) -> str:
    """Sign `client` in; returns the session's CSRF token (from the dashboard)."""
    response = await post_login(client, password)
    assert response.status_code == 303, response.text
    dashboard = await client.get("/admin/")
    assert dashboard.status_code == 200
    return csrf_in(dashboard.text)


# Something to respond to ----------------------------------------------------------------------


@pytest.fixture(name="post")
async def post_fixture(app: Starlette) -> Post:
    """A public note at https://example.test/2026/05/hello."""
    published = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    return await create_post({"content": ["Hello, world"]}, slug="hello", published=published)


# Hypothesis profiles (the property tests: tests/**/test_*_properties.py) ---------------------


def _register_hypothesis_profiles() -> None:
    """`ci` (the default) and `long`, chosen with HYPOTHESIS_PROFILE.

    `ci` is bounded (every property test together well under a minute on CI's two cores) and
    derandomized: each run tries the same inputs, so a failure in CI fails again locally, and
    it keeps no example database. `long` is for a local hunt, random each run, its failures
    kept and replayed first next time: `HYPOTHESIS_PROFILE=long pytest tests -k properties`.
    Hypothesis's own files (that database, its caches, the patches it writes for a failure)
    go under the system's temp dir, never into the checkout as `.hypothesis/`.
    """
    import os
    import tempfile

    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase

    home = os.path.join(tempfile.gettempdir(), "hearth-hypothesis")
    set_hypothesis_home_dir(home)

    hypothesis_settings.register_profile(
        "ci",
        max_examples=100,
        derandomize=True,
        database=None,
        # Requests through the app take milliseconds and a shared runner stalls at times:
        # the example count bounds the time, not a per-example deadline.
        deadline=None,
        print_blob=True,
        # Generating nested JSON or HTML trees can be slow on a loaded runner; that is no bug.
        suppress_health_check=[HealthCheck.too_slow],
    )
    hypothesis_settings.register_profile(
        "long",
        max_examples=5000,
        deadline=None,
        print_blob=True,
        database=DirectoryBasedExampleDatabase(os.path.join(home, "examples")),
        suppress_health_check=[HealthCheck.too_slow],
    )
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_register_hypothesis_profiles()
