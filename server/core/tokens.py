"""Bearer tokens for Micropub and other authorized endpoints.

Tokens are random strings shown once; the database keeps only their SHA-256, so a leaked
database copy grants nothing. `verify_token` is the single check every endpoint calls;
`hearth token create` mints them through `mint_token`; every revocation goes through
`revoke_where`.

A Micropub client sends the same token with every request, so the live rows are kept in
memory (issue #14: the read was a trip to the database on every create, which the requests
queued behind the writes for). A kept row is used only while nothing was revoked since it
was read: `revoke_where` records a `TOKENS` change (`core.page_changes`), bumped after the
revocation commits in a counter every process of the site shares (`core.page_generations`),
and which `verify_token` reads before each use, so a token revoked anywhere (the admin, the
revocation endpoint, `hearth token revoke`) stops working at once (a revocation inside a
transaction: once its unit of work ends). A kept row is also read again after `KEPT_FOR`
seconds, which bounds what no counter tells: a row changed outside Hearth, a process killed
between a revocation's commit and its bump (every start bumps `TOKENS` too), processes on
several machines sharing a PostgreSQL database but not a data dir. Expiry is checked at
every use.
"""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from hearth.server.core import one_trip, page_changes
from hearth.server.core.models import Token
from hearth.server.core.page_generations import TOKENS

# The live token row for a presented token, or None for an unknown, expired or revoked one.
# Hearth's own check is `verify_token`; a feature may provide another (IndieAuth's
# delegation to another server's token endpoint), through `Feature.token_verifier`.
TokenVerifier = Callable[[str], Awaitable[Token | None]]


class VerificationUnavailable(Exception):
    """The token could not be checked just now (the server that issued it is down, broken
    or silent): the request is answered 503, never let through."""


# How finely a token's `last_used_at` is kept (shown as "last used" in the admin).
LAST_USE_RESOLUTION = timedelta(minutes=1)

# Scopes the owner can grant; Micropub and the media endpoint check these.
KNOWN_SCOPES = frozenset(
    {"create", "update", "delete", "undelete", "media", "draft", "read", "follow", "profile",
     "email"}
)  # fmt: skip


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_scope(scope: str) -> str:
    """Space-separated, de-duplicated scope list in a stable order."""
    return " ".join(sorted(set(scope.replace(",", " ").split())))


async def mint_token(
    *, me: str, scope: str, client_id: str | None = None, expires_at: datetime | None = None
) -> tuple[str, Token]:
    """Create a token; returns the secret (shown once) and its stored row."""
    secret = secrets.token_urlsafe(32)
    # A leading "-" would read as an option to `hearth token revoke TOKEN`.
    while secret.startswith("-"):
        secret = secrets.token_urlsafe(32)
    row = await Token.create(
        token_hash=hash_token(secret),
        prefix=secret[:8],
        me=me,
        client_id=client_id,
        scope=normalize_scope(scope),
        expires_at=expires_at,
    )
    return secret, row


_BY_HASH = (
    f"SELECT {', '.join(sorted(Token._meta.db_fields))} FROM tokens"  # noqa: S608
    " WHERE token_hash = ?"
)


# How long a kept live row is trusted (see the module docstring), and how many are kept.
KEPT_FOR = 5.0
MAX_KEPT = 256


@dataclass(frozen=True, slots=True)
class _Kept:
    row: Token
    revocations: int  # the TOKENS counter read before the row was
    until: float  # time.monotonic()


# Per database (tests and tools open several in one process), by token hash.
_kept: weakref.WeakKeyDictionary[BaseDBAsyncClient, dict[str, _Kept]] = weakref.WeakKeyDictionary()


async def _live_row(digest: str) -> Token | None:
    """The token row of `digest`, kept or read (kept only when live and revocations are
    counted here: in a unit of work, or a process that installed the counters)."""
    counters = page_changes.counters()
    client: BaseDBAsyncClient = connections.get(one_trip.CONNECTION)
    kept = None
    if counters is not None and not isinstance(client, TransactionalDBClient):
        kept = _kept.setdefault(client, {})
        revocations = counters.read(TOKENS)  # before the row: a revocation after it is seen
        hit = kept.get(digest)
        if hit is not None and hit.revocations == revocations and monotonic() < hit.until:
            return hit.row
    # A plain statement, not an ORM query (issue #14).
    found = await one_trip.fetch(_BY_HASH, (digest,))
    row = Token._init_from_db(**found[0]) if found else None
    if kept is not None:
        kept.pop(digest, None)
        if row is not None and row.revoked_at is None:
            if len(kept) >= MAX_KEPT:
                kept.clear()  # a site has a handful of live tokens; this bounds the rest
            kept[digest] = _Kept(row, revocations, monotonic() + KEPT_FOR)
    return row


async def verify_token(token: str, *, count_use: bool = True) -> Token | None:
    """The live token row for a presented bearer token, or None (unknown, revoked, expired).

    `count_use=False` only looks (introspection): the token's `last_used_at` stays as it is.
    """
    if not token:
        return None
    row = await _live_row(hash_token(token))
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if count_use and (row.last_used_at is None or now - row.last_used_at >= LAST_USE_RESOLUTION):
        # "Last used" to the minute: a write on every request would double a Micropub
        # client's statements for nothing anyone reads (issue #14).
        await Token.filter(id=row.id).update(last_used_at=now)
        row.last_used_at = now
    return row


async def revoke_where(*, at: datetime | None = None, **filters: Any) -> int:
    """Revoke the live tokens that match `filters` (Tortoise's); how many were.

    Every revocation goes through here: it records the change that ends the kept rows.
    """
    updated: int = await Token.filter(revoked_at__isnull=True, **filters).update(
        revoked_at=at or datetime.now(UTC)
    )
    if updated:
        client = connections.get(one_trip.CONNECTION)
        counters = page_changes.counters()
        if isinstance(client, TransactionalDBClient) or counters is None:
            page_changes.changed(tokens=True)  # bumped once the unit of work ends
        else:
            counters.bump([TOKENS])  # committed already: refused from now on, everywhere
    return updated


async def revoke_token(token: str) -> bool:
    """Revoke by the token itself or by its listed prefix; True if one was revoked."""
    updated = await revoke_where(token_hash=hash_token(token))
    if not updated and len(token) >= 8:
        matches = await Token.filter(prefix=token[:8], revoked_at__isnull=True)
        if len(matches) == 1 and token == matches[0].prefix:
            updated = await revoke_where(id=matches[0].id)
    return bool(updated)


async def live_tokens() -> list[Token]:
    return await Token.filter(revoked_at__isnull=True).order_by("-created_at")
