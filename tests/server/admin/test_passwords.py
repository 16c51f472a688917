"""The owner's password: argon2id hashes in the `admin_password` site setting."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type
from starlette.applications import Starlette

from hearth.server.admin import passwords, set_password, verify_password
from hearth.server.core.models import SiteSetting


async def _stored() -> str:
    row = await SiteSetting.get(key="admin_password")
    assert isinstance(row.value, dict)
    value = row.value["hash"]
    assert isinstance(value, str)
    return value


def test_default_parameters_are_argon2id_rfc_9106() -> None:
    """Outside the tests, hashes use argon2id with at least RFC 9106's low-memory profile."""
    hasher = passwords.DEFAULT_HASHER
    assert hasher.type is Type.ID
    assert hasher.memory_cost >= 64 * 1024 and hasher.time_cost >= 3
    assert hasher.hash("a long enough secret").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_password_is_stored_as_argon2id_and_verifies(app: Starlette) -> None:
    """set_password stores an argon2id hash (never the password) that verify_password accepts."""
    await set_password("a long enough secret")
    stored = await _stored()
    assert stored.startswith("$argon2id$")
    assert "a long enough secret" not in stored
    assert await verify_password("a long enough secret")


async def test_wrong_password_does_not_verify(app: Starlette) -> None:
    """Any other password is rejected."""
    await set_password("a long enough secret")
    assert not await verify_password("a long enough secreT")
    assert not await verify_password("")


async def test_no_password_set_verifies_nothing(app: Starlette) -> None:
    """Before `hearth set-password` has run, no password signs in."""
    assert not await verify_password("anything at all")


@pytest.mark.parametrize("bad", ["", "short", "1234567"])
async def test_empty_or_short_password_is_rejected(app: Starlette, bad: str) -> None:
    """Passwords under 8 characters raise ValueError and store nothing."""
    with pytest.raises(ValueError, match="password"):
        await set_password(bad)
    assert await SiteSetting.get_or_none(key="admin_password") is None


async def test_hash_is_upgraded_when_parameters_change(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hash made with other parameters is replaced on the next successful verify."""
    await set_password("a long enough secret")
    stronger = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", stronger)
    assert await verify_password("a long enough secret")
    stored = await _stored()
    assert stored.startswith("$argon2id$") and "m=8192,t=2,p=1" in stored
    assert await verify_password("a long enough secret")


async def test_wrong_password_does_not_rehash(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a verified password is rehashed; a failed attempt leaves the hash alone."""
    await set_password("a long enough secret")
    before = await _stored()
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=2, memory_cost=8192))
    assert not await verify_password("not the secret")
    assert await _stored() == before
