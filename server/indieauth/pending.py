"""Sign-ins under way: https://indieauth.spec.indieweb.org/#authorization-request

Starting a sign-in stores a `PendingSignIn`: the random `state` (only its SHA-256), the PKCE
verifier, what discovery found, and the SHA-256 of a random value in this browser's
`hearth_signin` cookie. The callback takes the row back only with both the state and that
cookie, once (the row is deleted as it is taken), and within `LIFETIME`.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from hearth.server.core.web import settings_of
from hearth.server.indieauth import pkce
from hearth.server.indieauth.discovery import AuthServer
from hearth.server.indieauth.tables import PendingSignIn
from hearth.server.indieauth.visitors import hash_secret

__all__ = ["BROWSER_COOKIE", "LIFETIME", "browser_value", "create_pending", "take_pending"]

BROWSER_COOKIE = "hearth_signin"
COOKIE_PATH = "/signin"
LIFETIME = timedelta(minutes=10)
_MAX_COOKIE_LENGTH = 128


def _cookie(request: Request) -> str | None:
    value = request.cookies.get(BROWSER_COOKIE)
    return value if value and len(value) <= _MAX_COOKIE_LENGTH else None


def browser_value(request: Request, response: Response) -> str:
    """The random value that binds sign-ins to this browser (kept, so tabs do not clash)."""
    value = _cookie(request) or secrets.token_urlsafe(32)
    response.set_cookie(
        BROWSER_COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=settings_of(request).https,
        httponly=True,
        samesite="lax",
    )
    return value


async def create_pending(server: AuthServer, me_entered: str, browser: str) -> tuple[str, str]:
    """Store a new sign-in; returns its (state, PKCE verifier). Expired ones are pruned."""
    now = datetime.now(UTC)
    await PendingSignIn.filter(expires_at__lte=now).delete()
    state = secrets.token_urlsafe(32)
    verifier = pkce.new_verifier()
    await PendingSignIn.create(
        state_hash=hash_secret(state),
        browser_hash=hash_secret(browser),
        me_entered=me_entered,
        code_verifier=verifier,
        authorization_endpoint=server.authorization_endpoint,
        issuer=server.issuer,
        seen_urls=list(server.seen_urls),
        expires_at=now + LIFETIME,
    )
    return state, verifier


async def take_pending(request: Request, state: str | None) -> PendingSignIn | None:
    """The sign-in `state` names, if this browser started it and it is live; used up."""
    browser = _cookie(request)
    if not state or len(state) > _MAX_COOKIE_LENGTH or browser is None:
        return None
    pending = await PendingSignIn.get_or_none(state_hash=hash_secret(state))
    if pending is None or not hmac.compare_digest(
        pending.browser_hash.encode(), hash_secret(browser).encode()
    ):
        return None
    # Single use: of two callbacks racing with the same state, one deletes the row.
    if await PendingSignIn.filter(id=pending.id).delete() != 1:
        return None
    if pending.expires_at <= datetime.now(UTC):
        return None
    return pending
