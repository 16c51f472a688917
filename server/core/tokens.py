"""Bearer tokens for Micropub and other authorized endpoints.

Tokens are random strings shown once; the database keeps only their SHA-256, so a leaked
database copy grants nothing. `verify_token` is the single check every endpoint calls;
`hearth token create` mints them through `mint_token`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from hearth.server.core import one_trip
from hearth.server.core.models import Token

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


async def verify_token(token: str, *, count_use: bool = True) -> Token | None:
    """The live token row for a presented bearer token, or None (unknown, revoked, expired).

    `count_use=False` only looks (introspection): the token's `last_used_at` stays as it is.
    """
    if not token:
        return None
    # Every authorized request asks: a plain statement, not an ORM query (issue #14).
    found = await one_trip.fetch(_BY_HASH, (hash_token(token),))
    row = Token._init_from_db(**found[0]) if found else None
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


async def revoke_token(token: str) -> bool:
    """Revoke by the token itself or by its listed prefix; True if one was revoked."""
    now = datetime.now(UTC)
    updated = await Token.filter(token_hash=hash_token(token), revoked_at__isnull=True).update(
        revoked_at=now
    )
    if not updated and len(token) >= 8:
        matches = await Token.filter(prefix=token[:8], revoked_at__isnull=True)
        if len(matches) == 1 and token == matches[0].prefix:
            updated = await Token.filter(id=matches[0].id).update(revoked_at=now)
    return bool(updated)


async def live_tokens() -> list[Token]:
    return await Token.filter(revoked_at__isnull=True).order_by("-created_at")
