"""Visitor sessions: https://indieauth.spec.indieweb.org/#authorization-code-verification

A visitor who signed in with their own site (see `signin`) holds a random session id in the
`hearth_visitor` cookie (HttpOnly, SameSite=Lax, site-wide, Secure on https). Only its
SHA-256 is stored, in `VisitorSession`, with their canonical profile URL, name and photo.
Signing out sets `ended_at` and keeps the row, for the admin's list of recent sign-ins.
`visitor_viewer` is IndieAuth's `ViewerSource`: public pages know who is looking.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from hearth.server.core.viewers import Viewer
from hearth.server.core.web import settings_of
from hearth.server.indieauth.indieauth_settings import indieauth
from hearth.server.indieauth.tables import VisitorSession

__all__ = [
    "COOKIE_NAME",
    "clear_visitor_cookie",
    "current_visitor",
    "end_visitor_session",
    "hash_secret",
    "start_visitor_session",
    "visitor_viewer",
]

COOKIE_NAME = "hearth_visitor"
COOKIE_PATH = "/"
_SCOPE_KEY = "hearth.visitor_session"
# token_urlsafe(32) gives 43 characters; anything much longer is not ours.
_MAX_COOKIE_LENGTH = 128


def hash_secret(secret: str) -> str:
    """The SHA-256 (hex) under which a secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def start_visitor_session(
    request: Request, response: Response, me: str, name: str | None, photo: str | None
) -> VisitorSession:
    """Store a new session for `me` and set its cookie on `response`."""
    settings = settings_of(request)
    lifetime = timedelta(days=indieauth(settings).visitor_session_days)
    session_id = secrets.token_urlsafe(32)
    session = await VisitorSession.create(
        id_hash=hash_secret(session_id),
        me=me,
        name=name,
        photo=photo,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=datetime.now(UTC) + lifetime,
    )
    response.set_cookie(
        COOKIE_NAME,
        session_id,
        max_age=int(lifetime.total_seconds()),
        path=COOKIE_PATH,
        secure=settings.https,
        httponly=True,
        samesite="lax",
    )
    return session


async def current_visitor(request: Request) -> VisitorSession | None:
    """The live (not ended, not expired) visitor session `request`'s cookie names, or None."""
    if _SCOPE_KEY in request.scope:
        cached: VisitorSession | None = request.scope[_SCOPE_KEY]
        return cached
    session = None
    session_id = request.cookies.get(COOKIE_NAME)
    if session_id and len(session_id) <= _MAX_COOKIE_LENGTH:
        session = await VisitorSession.get_or_none(
            id_hash=hash_secret(session_id), ended_at=None, expires_at__gt=datetime.now(UTC)
        )
    request.scope[_SCOPE_KEY] = session
    return session


async def end_visitor_session(request: Request, session: VisitorSession) -> None:
    """End `session` (the row stays, with `ended_at`)."""
    session.ended_at = datetime.now(UTC)
    await session.save(update_fields=["ended_at"])
    request.scope[_SCOPE_KEY] = None


def clear_visitor_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME, path=COOKIE_PATH, secure=settings_of(request).https, httponly=True,
        samesite="lax",
    )  # fmt: skip


async def visitor_viewer(request: Request) -> Viewer | None:
    """The visitor signed in with their own site, if `request` carries their session."""
    session = await current_visitor(request)
    if session is None:
        return None
    return Viewer(
        me=session.me, name=session.name, photo=session.photo, csrf_token=session.csrf_token
    )
