"""Authorization codes, and what they are exchanged for: access and refresh tokens.

Spec: https://indieauth.spec.indieweb.org/#redeeming-the-authorization-code and
https://indieauth.spec.indieweb.org/#refresh-tokens, with OAuth 2.1
(https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1) for what IndieAuth leaves
open: a code is single use, and one presented twice revokes everything it was exchanged
for (§4.1.3); refresh tokens rotate, and a rotated-out one presented again revokes its
chain (§4.3.1), since only a thief would still hold it.

Codes and refresh tokens are random, shown once, and stored as their SHA-256 only.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from hearth.server.core.models import Token
from hearth.server.core.tokens import hash_token, mint_token, revoke_where
from hearth.server.indieauth import pkce
from hearth.server.indieauth.indieauth_settings import IndieAuthSettings
from hearth.server.indieauth.tables import AuthorizationCode, RefreshToken

__all__ = [
    "CODE_LIFETIME",
    "GrantError",
    "Issued",
    "issue_code",
    "issue_tokens",
    "redeem_code",
    "refresh",
    "revoke",
    "revoke_access",
    "revoke_client",
]

CODE_LIFETIME = timedelta(minutes=10)


class GrantError(Exception):
    """A refused token request: the RFC 6749 §5.2 `error` code and a description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Issued:
    """An access token and its refresh token, as the token endpoint hands them out."""

    access_token: str
    refresh_token: str
    scope: str
    me: str
    expires_in: int


async def issue_code(
    *,
    client_id: str,
    redirect_uri: str,
    me: str,
    scope: Sequence[str],
    code_challenge: str | None,
) -> str:
    """A new code for what the owner approved; the secret is returned, its hash kept."""
    code = secrets.token_urlsafe(32)
    await AuthorizationCode.create(
        code_hash=hash_token(code),
        client_id=client_id,
        redirect_uri=redirect_uri,
        me=me,
        scope=" ".join(scope),
        code_challenge=code_challenge,
        expires_at=datetime.now(UTC) + CODE_LIFETIME,
    )
    return code


async def redeem_code(
    *, code: str, client_id: str, redirect_uri: str, code_verifier: str | None
) -> AuthorizationCode:
    """The approval behind `code`, used up now; `GrantError("invalid_grant")` otherwise.

    The code is spent by the first redemption, right or wrong, so a thief's retries fail
    too; a second redemption also revokes what the first one issued.
    """
    row = await AuthorizationCode.get_or_none(code_hash=hash_token(code)) if code else None
    if row is None:
        raise GrantError("invalid_grant", "The authorization code is unknown.")
    now = datetime.now(UTC)
    spent = await AuthorizationCode.filter(id=row.id, used_at__isnull=True).update(used_at=now)
    if not spent:
        await revoke_grant(row)
        raise GrantError(
            "invalid_grant",
            "The authorization code was used already; what it was exchanged for is revoked.",
        )
    if row.expires_at <= now:
        raise GrantError("invalid_grant", "The authorization code has expired.")
    if row.client_id != client_id:
        raise GrantError("invalid_grant", "The client_id is not the one the code was issued to.")
    if row.redirect_uri != redirect_uri:
        raise GrantError("invalid_grant", "The redirect_uri is not the one the code was sent to.")
    if row.code_challenge is None:
        if code_verifier:
            raise GrantError(
                "invalid_grant", "A code_verifier was sent for a code issued without PKCE."
            )
    elif not code_verifier:
        raise GrantError("invalid_grant", "The code was issued with PKCE: send its code_verifier.")
    elif not pkce.matches(code_verifier, row.code_challenge, pkce.METHOD):
        raise GrantError("invalid_grant", "The code_verifier does not match the code_challenge.")
    return row


async def issue_tokens(grant: AuthorizationCode, lifetimes: IndieAuthSettings) -> Issued:
    """An access token and a refresh token for a redeemed code with scopes."""
    if not grant.scope:
        raise GrantError(
            "invalid_grant",
            "The code was issued without scopes: it proves who you are, but gets no access "
            "token. Redeem it at the authorization endpoint.",
        )
    async with in_transaction():
        issued, token = await _issue(grant, grant.scope, grant.scope, lifetimes)
        await AuthorizationCode.filter(id=grant.id).update(access_token_id=token.id)
    await _unless_replayed(grant)
    return issued


async def _unless_replayed(grant: AuthorizationCode) -> None:
    """Take back what was just issued if the code (or a refresh token of its chain) was
    replayed meanwhile: the replay marked the grant before it looked for tokens to revoke,
    and this looks after storing them, so one of the two always sees the other."""
    if await AuthorizationCode.filter(id=grant.id, replayed_at__isnull=False).exists():
        await revoke_grant(grant)
        raise GrantError("invalid_grant", "The grant was revoked: its code was used twice.")


async def _issue(
    grant: AuthorizationCode, access_scope: str, refresh_scope: str, lifetimes: IndieAuthSettings
) -> tuple[Issued, Token]:
    now = datetime.now(UTC)
    lifetime = timedelta(days=lifetimes.access_token_days)
    access, token = await mint_token(
        me=grant.me, scope=access_scope, client_id=grant.client_id, expires_at=now + lifetime
    )
    refresh_secret = secrets.token_urlsafe(32)
    await RefreshToken.create(
        token_hash=hash_token(refresh_secret),
        code_id=grant.id,
        client_id=grant.client_id,
        me=grant.me,
        scope=refresh_scope,
        access_token_id=token.id,
        expires_at=now + timedelta(days=lifetimes.refresh_token_days),
    )
    issued = Issued(
        access_token=access,
        refresh_token=refresh_secret,
        scope=token.scope,
        me=grant.me,
        expires_in=int(lifetime.total_seconds()),
    )
    return issued, token


async def refresh(
    *,
    refresh_token: str,
    client_id: str,
    scope: Sequence[str] | None,
    lifetimes: IndieAuthSettings,
) -> Issued:
    """New tokens for a live refresh token, which stops working (rotation).

    `scope` may narrow what was granted (the new access token gets it), never widen it
    (`invalid_scope`); the new refresh token keeps the granted scope (RFC 6749 §6).
    """
    row = await RefreshToken.get_or_none(token_hash=hash_token(refresh_token)).prefetch_related(
        "code"
    )
    now = datetime.now(UTC)
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise GrantError("invalid_grant", "The refresh token is unknown, expired or revoked.")
    if row.client_id != client_id:
        raise GrantError("invalid_grant", "The refresh token was issued to another client_id.")
    if row.used_at is None and await _access_was_revoked(row):
        # Whoever revoked the access it renews (the owner in the admin's token list, or the
        # app at the revocation endpoint) ended the grant: it is not renewed behind their back.
        raise GrantError("invalid_grant", "The access this refresh token renews was revoked.")
    granted = row.scope.split()
    asked = list(scope) if scope else granted
    if not set(asked) <= set(granted):
        raise GrantError("invalid_scope", "A refresh may keep or narrow the scope, not widen it.")
    rotated = await RefreshToken.filter(id=row.id, used_at__isnull=True).update(used_at=now)
    if not rotated:
        await revoke_grant(row.code)
        raise GrantError(
            "invalid_grant",
            "The refresh token was used already; every token of its grant is revoked.",
        )
    async with in_transaction():
        if row.access_token_id is not None:
            await revoke_where(id=row.access_token_id, at=now)
        issued, _ = await _issue(row.code, " ".join(asked), row.scope, lifetimes)
    await _unless_replayed(row.code)
    return issued


async def _access_was_revoked(row: RefreshToken) -> bool:
    if row.access_token_id is None:
        return False
    return await Token.filter(id=row.access_token_id, revoked_at__isnull=False).exists()


async def revoke_grant(grant: AuthorizationCode) -> None:
    """Revoke every access and refresh token issued for `grant`, now and later."""
    now = datetime.now(UTC)
    await AuthorizationCode.filter(id=grant.id, replayed_at__isnull=True).update(replayed_at=now)
    refresh_rows = await RefreshToken.filter(code_id=grant.id)
    token_ids = {row.access_token_id for row in refresh_rows if row.access_token_id is not None}
    if grant.access_token_id is not None:
        token_ids.add(grant.access_token_id)
    await RefreshToken.filter(code_id=grant.id, revoked_at__isnull=True).update(revoked_at=now)
    if token_ids:
        await revoke_where(id__in=token_ids, at=now)


async def revoke(token: str) -> None:
    """Revoke an access token or a refresh token (RFC 7009); unknown ones are ignored.

    A refresh token takes its current access token with it; a revoked access token can no
    longer be renewed by its refresh token either (`refresh` refuses it).
    """
    if not token:
        return
    now = datetime.now(UTC)
    digest = hash_token(token)
    await revoke_where(token_hash=digest, at=now)
    row = await RefreshToken.get_or_none(token_hash=digest)
    if row is not None:
        await RefreshToken.filter(id=row.id, revoked_at__isnull=True).update(revoked_at=now)
        if row.access_token_id is not None:
            await revoke_where(id=row.access_token_id, at=now)


async def revoke_access(token_ids: Sequence[int]) -> None:
    """Revoke these access tokens and the refresh tokens issued with them (the owner takes
    access back: an app must not refresh its way in again)."""
    now = datetime.now(UTC)
    await revoke_where(id__in=list(token_ids), at=now)
    await RefreshToken.filter(access_token_id__in=list(token_ids), revoked_at__isnull=True).update(
        revoked_at=now
    )


async def revoke_client(client_id: str) -> None:
    """Revoke every access and refresh token of one app."""
    tokens = await Token.filter(client_id=client_id, revoked_at__isnull=True)
    await revoke_access([token.id for token in tokens])
    await RefreshToken.filter(client_id=client_id, revoked_at__isnull=True).update(
        revoked_at=datetime.now(UTC)
    )
