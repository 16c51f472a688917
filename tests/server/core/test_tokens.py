"""Bearer tokens: stored hashed, checked in one place, revocable and expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from hearth.server.core.models import Token
from hearth.server.core.tokens import mint_token, revoke_token, verify_token


async def test_minted_token_verifies_with_scopes(client: httpx.AsyncClient) -> None:
    """A fresh token verifies and carries its normalized scopes."""
    secret, _ = await mint_token(me="https://example.test/", scope="media create create")
    row = await verify_token(secret)
    assert row is not None
    assert frozenset({"create", "media"}) == row.scopes


async def test_only_hash_is_stored(client: httpx.AsyncClient) -> None:
    """The database never holds the token itself."""
    secret, row = await mint_token(me="https://example.test/", scope="create")
    stored = await Token.get(id=row.id)
    assert secret not in (stored.token_hash, stored.prefix)


async def test_unknown_revoked_and_expired_tokens_fail(client: httpx.AsyncClient) -> None:
    """Unknown, revoked and expired tokens do not verify."""
    assert await verify_token("nope") is None
    revoked, _ = await mint_token(me="https://example.test/", scope="create")
    assert await revoke_token(revoked)
    assert await verify_token(revoked) is None
    past = datetime.now(UTC) - timedelta(seconds=1)
    expired, _ = await mint_token(me="https://example.test/", scope="create", expires_at=past)
    assert await verify_token(expired) is None
