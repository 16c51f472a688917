"""Admin sessions: a random id in the `hearth_session` cookie, only its SHA-256 stored.

`require_admin` wraps an admin view: signed-out visitors are sent to the sign-in page,
unsafe methods must carry the session's CSRF token, and every response gets the admin
security headers. Views from other modules reuse it:

    @require_admin
    async def my_view(request: Request, session: AdminSession) -> Response: ...

    routes = [Route("/admin/things", my_view, methods=["GET", "POST"])]
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from hearth.server.admin import csrf
from hearth.server.admin.responses import redirect, render_admin, secure
from hearth.server.core.models import AdminSession
from hearth.server.core.viewers import Viewer
from hearth.server.core.web import settings_of

COOKIE_NAME = "hearth_session"
# Site-wide: the owner also sees private posts on public pages, and approves IndieAuth
# requests at the authorization endpoint, outside /admin. (Sessions made before 0.2 had
# the cookie on /admin only; signing out clears that one too.)
COOKIE_PATH = "/"
_OLD_COOKIE_PATH = "/admin"
LIFETIME = timedelta(days=14)
LOGIN_URL = "/admin/login"
# token_urlsafe(32) gives 43 characters; anything much longer is not ours.
_MAX_COOKIE_LENGTH = 128

AdminView = Callable[[Request, AdminSession], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def _hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _cookie_id(request: Request) -> str | None:
    value = request.cookies.get(COOKIE_NAME)
    if not value or len(value) > _MAX_COOKIE_LENGTH:
        return None
    return value


async def create_session(now: datetime | None = None) -> tuple[str, AdminSession]:
    """A new session: (the id for the cookie, the stored row). Expired rows are pruned."""
    now = now or datetime.now(UTC)
    await AdminSession.filter(expires_at__lte=now).delete()
    session_id = secrets.token_urlsafe(32)
    session = await AdminSession.create(
        id_hash=_hash_id(session_id), csrf_token=csrf.new_token(), expires_at=now + LIFETIME
    )
    return session_id, session


async def current_session(request: Request) -> AdminSession | None:
    """The signed-in admin session of `request`, or None (no, unknown or expired cookie)."""
    if "admin_session" in request.scope:
        cached: AdminSession | None = request.scope["admin_session"]
        return cached
    session = None
    session_id = _cookie_id(request)
    if session_id is not None:
        session = await AdminSession.get_or_none(id_hash=_hash_id(session_id))
        if session is not None and session.expires_at <= datetime.now(UTC):
            await session.delete()
            session = None
    request.scope["admin_session"] = session
    return session


async def end_session(request: Request) -> None:
    """Delete the session named by `request`'s cookie, if any, on the server."""
    session_id = _cookie_id(request)
    if session_id is not None:
        await AdminSession.filter(id_hash=_hash_id(session_id)).delete()
    request.scope["admin_session"] = None


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        session_id,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=settings_of(request).https,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    for path in (COOKIE_PATH, _OLD_COOKIE_PATH):
        response.delete_cookie(
            COOKIE_NAME, path=path, secure=settings_of(request).https, httponly=True,
            samesite="lax",
        )  # fmt: skip


def safe_next(value: str | None) -> str | None:
    """A site-relative path to return to after signing in, or None for anything else.

    Only "/x..." is kept: never "//host" or "/\\host" (other sites, to a browser), a scheme,
    or control characters, so the sign-in page cannot become an open redirect.
    """
    if not value or len(value) > 4096 or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(ord(c) < 0x21 or c == "\\" for c in value):
        return None
    return value


def login_url(next_path: str | None = None) -> str:
    """The sign-in page, coming back to `next_path` (a site-relative path) afterwards."""
    safe = safe_next(next_path)
    return f"{LOGIN_URL}?{urlencode({'next': safe})}" if safe else LOGIN_URL


async def owner_viewer(request: Request) -> Viewer | None:
    """The owner, when `request` carries a live admin session (a `ViewerSource`)."""
    if await current_session(request) is None:
        return None
    settings = settings_of(request)
    return Viewer(me=settings.url, owner=True, name=settings.name, photo=settings.photo)


async def csrf_valid(request: Request, session: AdminSession) -> bool:
    """Whether `request` carries `session`'s CSRF token (always true for safe methods)."""
    if request.method in csrf.SAFE_METHODS:
        return True
    return csrf.tokens_match(session.csrf_token, await csrf.submitted_token(request))


def forbidden(request: Request, message: str) -> Response:
    return render_admin(
        request,
        "admin/error.html",
        {"heading": "Forbidden", "message": message, "signed_in": False},
        status_code=403,
    )


def require_admin(view: AdminView) -> Endpoint:
    """Turn `view(request, session)` into an endpoint only the signed-in owner reaches."""

    @functools.wraps(view)
    async def endpoint(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            return redirect(LOGIN_URL)
        if not await csrf_valid(request, session):
            return forbidden(
                request,
                "The form was not sent from this admin page, or it expired. Go back, "
                "reload the page and try again.",
            )
        return secure(await view(request, session))

    return endpoint
