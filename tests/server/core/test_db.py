"""Schema migrations: the models and the migration files agree, and upgrades keep data."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from hearth.server.core import db
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia


async def test_models_have_no_unmigrated_changes(settings: Settings) -> None:
    """Every model change has a migration file (run `tortoise makemigrations` if this fails)."""
    config = db.tortoise_config(settings)
    settings.ensure_dirs()
    async with tortoise_cli_context(config) as ctx:
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert [writer.name for writer in writers] == []


async def test_migrating_again_keeps_existing_data(settings: Settings) -> None:
    """Re-running migrations on a database with posts changes nothing that is stored."""
    async with db.connect(settings):
        post = await create_post(
            {"content": ["keep me"]}, published=datetime(2026, 1, 2, tzinfo=UTC)
        )
    await db.migrate(settings)
    async with db.connect(settings):
        again = await Post.get(id=post.id)
    assert again.properties == {"content": ["keep me"]}
    assert post.short_code == again.short_code


@pytest.mark.one_store
async def test_migrations_are_recorded(settings: Settings) -> None:
    """Applied migrations are recorded, so an upgrade only runs the new ones."""
    await db.migrate(settings)
    with sqlite3.connect(settings.data_dir / "hearth.sqlite3") as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM tortoise_migrations")]
    assert "0001_initial" in names


@pytest.mark.one_store
async def test_upgrade_from_first_schema_keeps_posts(settings: Settings) -> None:
    """A database made by the first release keeps its posts through every later migration."""
    await db.migrate(settings, target="models.0001_initial")
    with sqlite3.connect(settings.data_dir / "hearth.sqlite3") as conn:
        conn.execute(
            "INSERT INTO posts (path, short_code, h_type, properties, post_type, published,"
            " status, visibility, created_at, modified_at)"
            " VALUES ('2020/01/old', 't0001', 'entry', '{\"content\": [\"old post\"]}',"
            " 'note', '2020-01-01 00:00:00+00:00', 'published', 'public',"
            " '2020-01-01 00:00:00+00:00', '2020-01-01 00:00:00+00:00')"
        )
    async with db.connect(settings):
        post = await Post.get(path="2020/01/old")
    assert {"content": ["old post"]} == post.properties
    assert not post.syndicate_to


@pytest.mark.one_store
async def test_upgrade_keeps_silo_tables_made_by_the_core(settings: Settings) -> None:
    """A database from before the silos had their own tables' app (the core's migrations
    0004 and 0005 made Instagram's) keeps those tables and their rows."""
    settings.ensure_dirs()
    dump = (Path(__file__).parent / "data" / "before_silo_apps.sql").read_text()
    with sqlite3.connect(settings.data_dir / "hearth.sqlite3") as conn:
        conn.executescript(dump)
    async with db.connect(settings):
        media = await InstagramMedia.get(media_id="m1").prefetch_related("post")
        account = await InstagramAccount.get(username="alice.example")
    assert (42, "2026/05/sunset") == (media.like_count, media.post.path)
    # The token is kept, and sealed at rest by instagram's 0002_seal_tokens.
    assert "IGQVJ-token" == account.token(settings) != account.access_token
    with sqlite3.connect(settings.data_dir / "hearth.sqlite3") as conn:
        applied = set(conn.execute("SELECT app, name FROM tortoise_migrations"))
    assert ("instagram", "0001_tables") in applied


@pytest.mark.one_store
async def test_a_new_database_gets_the_silo_tables(settings: Settings) -> None:
    await db.migrate(settings)
    with sqlite3.connect(settings.data_dir / "hearth.sqlite3") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"instagram_accounts", "instagram_media", "instagram_imports"} <= tables
