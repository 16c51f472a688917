"""The long-lived token is encrypted at rest (issue 13, hole 7): not in the SQLite file, still
sent to Instagram as it is, and sealed by the migration where an older Hearth stored it plain."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from tortoise import Tortoise

from hearth.server.core import db, secrets_at_rest
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramAccount


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


def _database_bytes(settings: Settings) -> bytes:
    return b"".join(path.read_bytes() for path in settings.data_dir.glob("hearth.sqlite3*"))


@pytest.mark.one_store
async def test_the_token_is_not_in_the_database_file(
    settings: Settings, connected: InstagramAccount, fake: FakeInstagram
) -> None:
    await Tortoise.close_connections()  # everything written out to the files
    stored = _database_bytes(settings)
    assert fake.token.encode() not in stored
    assert secrets_at_rest.SEALED_PREFIX.encode() in stored


async def test_the_silo_calls_instagram_with_the_token_itself(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """The fake answers only its own token: a sealed (or any other) value would be refused."""
    row = await InstagramAccount.get(id=connected.id)
    assert row.access_token != fake.token
    me = await account.client_for(settings, http, row).me()
    assert me.id == fake.user_id


async def test_the_migration_seals_a_token_stored_in_plain_text(tmp_path: Path) -> None:
    settings = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path / "data")})
    await db.migrate(settings, target="instagram.0001_tables")
    path = settings.data_dir / "hearth.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO instagram_accounts (user_id, username, access_token, token_state,"
            " created_at, updated_at) VALUES ('17841', 'alice', 'IGAA-plain-old-token', 'ok',"
            " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
        )
    conn.close()
    await db.migrate(settings)
    with sqlite3.connect(path) as conn:
        [(stored,)] = conn.execute("SELECT access_token FROM instagram_accounts").fetchall()
    conn.close()
    assert secrets_at_rest.is_sealed(stored)
    async with db.connect(settings):
        row = await InstagramAccount.get(user_id="17841")
        assert row.token(settings) == "IGAA-plain-old-token"
