"""Secrets at rest (issue 13, hole 7): the data dir is its user's alone, and sealed secrets
open only with the site's key, for the place they were sealed for."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hearth.server.core import secrets_at_rest
from hearth.server.core.secrets_at_rest import SecretUnreadable, seal, unseal
from hearth.server.core.settings import Settings
from tests.asgi_client import app_client


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_data_dir_is_private_after_start(tmp_path: Path) -> None:
    settings = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path / "new")})
    async with app_client(settings) as client:
        assert (await client.get("/")).status_code == 200
    data = settings.data_dir
    assert mode(data) == 0o700
    assert mode(data / "secret_key") == 0o600
    for db_file in data.glob("hearth.sqlite3*"):
        assert mode(db_file) == 0o600, db_file.name


def _readable_data_dir(data: Path, migrated_sqlite: Path) -> None:
    data.mkdir()
    os.chmod(data, 0o755)  # noqa: S103 - the permissive mode under test
    (data / "hearth.sqlite3").write_bytes(migrated_sqlite.read_bytes())
    (data / "secret_key").write_text("an old key that was readable to everyone")
    for name in ("hearth.sqlite3", "secret_key"):
        os.chmod(data / name, 0o644)


async def test_an_existing_readable_data_dir_is_made_private_at_start(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    """A data dir an older Hearth left world-readable (0755, 0644 files) is fixed at start."""
    data = tmp_path / "old"
    _readable_data_dir(data, migrated_sqlite)
    settings = Settings.from_env({"HEARTH_DATA_DIR": str(data)})
    async with app_client(settings) as client:
        assert (await client.get("/")).status_code == 200
        assert mode(data) == 0o700
        for db_file in [*data.glob("hearth.sqlite3*"), data / "secret_key"]:
            assert mode(db_file) == 0o600, db_file.name


def test_sealed_secrets_open_with_the_key_for_their_purpose(settings: Settings) -> None:
    sealed = seal(settings, "silo.token", "IGAA-the-token")
    assert "IGAA-the-token" not in sealed and secrets_at_rest.is_sealed(sealed)
    assert seal(settings, "silo.token", "IGAA-the-token") != sealed  # a fresh nonce each time
    assert unseal(settings, "silo.token", sealed) == "IGAA-the-token"
    other_key = Settings(data_dir=settings.data_dir)
    with pytest.raises(SecretUnreadable):
        unseal(other_key, "silo.token", sealed)
    with pytest.raises(SecretUnreadable):
        unseal(settings, "other.column", sealed)
    with pytest.raises(SecretUnreadable):
        unseal(settings, "silo.token", sealed[:-4] + "AAAA")


def test_a_secret_stored_before_sealing_still_reads(settings: Settings) -> None:
    assert unseal(settings, "silo.token", "IGAA-plain") == "IGAA-plain"
