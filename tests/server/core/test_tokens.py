"""Bearer tokens: stored hashed, checked in one place, revocable and expiring."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Any

import httpx
import pytest

from hearth.server.core import one_trip, page_changes, page_generations, tokens
from hearth.server.core.models import Token
from hearth.server.core.page_generations import Generations
from hearth.server.core.settings import Settings
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


async def test_a_token_used_again_is_not_read_again(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client's repeated requests cost one read of its token row (issue #14)."""
    reads: list[str] = []
    real_fetch = one_trip.fetch

    async def counted(sql: str, values: Sequence[Any]) -> list[dict[str, Any]]:
        reads.append(sql)
        return await real_fetch(sql, values)

    monkeypatch.setattr(one_trip, "fetch", counted)
    secret, _ = await mint_token(me="https://example.test/", scope="create")
    for _ in range(5):
        assert await verify_token(secret) is not None
    assert len([sql for sql in reads if "FROM tokens" in sql]) == 1


async def test_a_revocation_counted_by_another_process_ends_a_kept_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Another process's revocation reaches this one through the shared counters."""
    secret, row = await mint_token(me="https://example.test/", scope="create")
    assert await verify_token(secret) is not None
    await Token.filter(id=row.id).update(revoked_at=datetime.now(UTC))  # in "another process"
    elsewhere = Generations(settings.data_dir / page_generations.FILE_NAME)
    elsewhere.bump([page_generations.TOKENS])
    assert await verify_token(secret) is None


async def test_a_kept_token_is_read_again_after_a_while(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row changed outside Hearth (no revocation counted) is seen within KEPT_FOR."""
    secret, row = await mint_token(me="https://example.test/", scope="create")
    assert await verify_token(secret) is not None
    await Token.filter(id=row.id).update(revoked_at=datetime.now(UTC))
    later = monotonic() + tokens.KEPT_FOR + 0.1
    monkeypatch.setattr(tokens, "monotonic", lambda: later)
    assert await verify_token(secret) is None


async def test_a_kept_token_still_expires(client: httpx.AsyncClient) -> None:
    """Expiry is checked at every use, kept or not."""
    soon = datetime.now(UTC) + timedelta(seconds=0.4)
    secret, _ = await mint_token(me="https://example.test/", scope="create", expires_at=soon)
    assert await verify_token(secret) is not None
    await asyncio.sleep(0.5)
    assert await verify_token(secret) is None


async def test_a_revocation_is_refused_before_the_revoking_request_ends(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Committed on its own, a revocation is counted at once, not when its request answers
    (the revoking request may have more to do, behind other writes)."""
    secret, _ = await mint_token(me="https://example.test/", scope="create")
    with page_changes.unit(page_generations.open_generations(settings.data_dir)):
        assert await verify_token(secret) is not None
        assert await revoke_token(secret)
        assert await verify_token(secret) is None
