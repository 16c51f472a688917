"""Admin pages: sign-in and sign-out, the dashboard, and its h-card and token forms."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.server.admin import csrf, device_cookie, passwords, ratelimit
from hearth.server.admin.dashboard import HCARD_KEY, AdminPage, load_sections, pages_of
from hearth.server.admin.responses import redirect, render_admin
from hearth.server.admin.sessions import (
    clear_session_cookie,
    create_session,
    current_session,
    end_session,
    require_admin,
    safe_next,
    set_session_cookie,
)
from hearth.server.core.hrefs import valid_href
from hearth.server.core.models import AdminSession, SiteSetting, Token
from hearth.server.core.tokens import revoke_where
from hearth.server.core.web import settings_of

DASHBOARD_URL = "/admin/"
LOGIN_URL = "/admin/login"
# Shown after a redirect back to the dashboard (?done=...); a fixed list, never echoed input.
# Other features add theirs (`Feature.admin_notices`); the app holds them all.
NOTICES = {
    "profile": "Profile saved. The public h-card shows it now.",
    "revoked": "Token revoked.",
}
HCARD_LIMITS = {"name": 200, "photo": 2048, "note": 2000}
# Characters no host name (or user info) may hold: the photo would be an invalid `src`.
_BAD_HOST = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}]')


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


async def _login_page(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    headers: Mapping[str, str] | None = None,
    next_path: str | None = None,
) -> Response:
    settings = settings_of(request)
    cookie, token, fresh = csrf.login_token(settings, request.cookies.get(csrf.LOGIN_COOKIE))
    response = render_admin(
        request,
        "admin/login.html",
        {
            "csrf_token": token,
            "error": error,
            "password_set": await passwords.password_is_set(),
            "signed_in": False,
            "next": next_path,
        },
        status_code=status_code,
        headers=headers,
    )
    if fresh:
        response.set_cookie(
            csrf.LOGIN_COOKIE,
            cookie,
            max_age=csrf.LOGIN_MAX_AGE,
            path=csrf.LOGIN_COOKIE_PATH,
            secure=settings.https,
            httponly=True,
            samesite="lax",
        )
    return response


async def login_form(request: Request) -> Response:
    # `next`: where to go once signed in (the IndieAuth consent page, say); paths only.
    next_path = safe_next(request.query_params.get("next"))
    if await current_session(request) is not None:
        return redirect(next_path or DASHBOARD_URL)
    return await _login_page(request, next_path=next_path)


def _locked_message(locked: ratelimit.Locked) -> str:
    wait = _minutes(locked.retry_after)
    if locked.scope == "site":
        return (
            "Too many failed sign-ins to this site recently, so sign-in is paused for browsers "
            f"that have not signed in here before. Try again in {wait}."
        )
    return f"Too many failed sign-ins from {_source(locked.scope)}. Try again in {wait}."


def _source(scope: str) -> str:
    return "this browser" if scope == "device" else "your address"


async def login(request: Request) -> Response:
    settings = settings_of(request)
    form = await request.form()
    next_path = safe_next(_field(form, "next"))
    page = functools.partial(_login_page, request, next_path=next_path)
    if not csrf.login_token_valid(
        settings, request.cookies.get(csrf.LOGIN_COOKIE), _field(form, csrf.FIELD)
    ):
        return await page(
            status_code=403,
            error="The sign-in form expired or was not sent from this site. Please try again.",
        )
    if not await passwords.password_is_set():
        return await page(status_code=400)
    password = _field(form, "password")
    if not password:
        return await page(status_code=400, error="Enter the password.")
    # A browser that signed in here before counts its failures alone (see ratelimit).
    device = device_cookie.known_device(settings, request.cookies.get(device_cookie.COOKIE))
    if device is not None:
        key = ratelimit.device_key(device)
    else:
        key = ratelimit.address_key(request.client.host if request.client else None)
    attempt = await ratelimit.reserve(key, settings)
    if isinstance(attempt, ratelimit.Locked):
        return await page(
            status_code=429,
            error=_locked_message(attempt),
            headers={"Retry-After": str(attempt.retry_after)},
        )
    if not await passwords.verify_password(password):
        left = await ratelimit.attempts_left(key, settings)
        if left:
            message = f"Wrong password. {left} attempt{'s' if left != 1 else ''} left."
        else:
            wait = _minutes(settings.login_lock_seconds)
            source = _source("device" if device is not None else "address")
            message = f"Wrong password. Sign-in from {source} is now locked for {wait}."
        return await page(status_code=401, error=message)
    await ratelimit.succeeded(attempt)
    # Whatever session id the browser brought is dropped: a fresh one is issued (no fixation).
    await end_session(request)
    session_id, _ = await create_session()
    response = redirect(next_path or DASHBOARD_URL)
    set_session_cookie(request, response, session_id)
    # A known device from now on; a new id at every sign-in (the old one's count is gone).
    response.set_cookie(
        device_cookie.COOKIE, device_cookie.new_cookie(settings), max_age=device_cookie.MAX_AGE,
        path=device_cookie.COOKIE_PATH, secure=settings.https, httponly=True, samesite="strict",
    )  # fmt: skip
    response.delete_cookie(
        csrf.LOGIN_COOKIE, path=csrf.LOGIN_COOKIE_PATH, secure=settings.https, httponly=True,
        samesite="lax",
    )  # fmt: skip
    return response


@require_admin
async def logout(request: Request, session: AdminSession) -> Response:
    await end_session(request)
    response = redirect(LOGIN_URL)
    clear_session_cookie(request, response)
    return response


async def _page(
    request: Request,
    session: AdminSession,
    page: AdminPage,
    *,
    status_code: int = 200,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Response:
    done = request.query_params.get("done", "")
    return render_admin(
        request,
        "admin/dashboard.html",
        {
            "csrf_token": session.csrf_token,
            "signed_in": True,
            "page": page,
            "notice": request.app.state.admin_notices.get(done),
            "sections": await load_sections(request, session, page.id, overrides),
        },
        status_code=status_code,
    )


def _find_page(request: Request, page_id: str) -> AdminPage | None:
    return next((page for page in pages_of(request) if page.id == page_id), None)


@require_admin
async def dashboard(request: Request, session: AdminSession) -> Response:
    """The admin's front door: its first page (posts)."""
    return await _page(request, session, pages_of(request)[0])


@require_admin
async def admin_page(request: Request, session: AdminSession) -> Response:
    page = _find_page(request, request.path_params["page"])
    if page is None:
        return render_admin(
            request,
            "admin/error.html",
            {"heading": "Not found", "message": "There is no such admin page.",
             "signed_in": True, "csrf_token": session.csrf_token},
            status_code=404,
        )  # fmt: skip
    return await _page(request, session, page)


def _hcard_errors(values: Mapping[str, str]) -> dict[str, str]:
    # The photo's length as stored: with the characters HTML refuses percent-encoded.
    lengths = {field: len(value) for field, value in values.items()}
    lengths["photo"] = len(valid_href(values["photo"]))
    errors = {
        field: f"At most {limit} characters."
        for field, limit in HCARD_LIMITS.items()
        if lengths[field] > limit
    }
    photo = values["photo"]
    if photo and "photo" not in errors:
        try:
            parts = urlsplit(photo)
            host_ok = bool(parts.hostname) and not _BAD_HOST.search(parts.netloc)
        except ValueError:  # e.g. an unclosed "[" of an IPv6 host
            host_ok = False
        if not host_ok or parts.scheme not in ("http", "https"):
            errors["photo"] = "An absolute http:// or https:// URL, or nothing."
    return errors


@require_admin
async def update_hcard(request: Request, session: AdminSession) -> Response:
    form = await request.form()
    values = {field: _field(form, field).strip() for field in HCARD_LIMITS}
    errors = _hcard_errors(values)
    if "photo" not in errors:
        # Spelled as HTML requires (a space percent-encoded): pages show it in `src`.
        values["photo"] = valid_href(values["photo"])
    if errors:
        rejected = {"profile": {"values": values, "errors": errors}}
        page = _find_page(request, "profile") or pages_of(request)[0]
        return await _page(request, session, page, status_code=400, overrides=rejected)
    await SiteSetting.update_or_create(key=HCARD_KEY, defaults={"value": values})
    return redirect("/admin/profile?done=profile")


@require_admin
async def revoke_token(request: Request, session: AdminSession) -> Response:
    token = await Token.get_or_none(id=request.path_params["token_id"])
    if token is None:
        return render_admin(
            request,
            "admin/error.html",
            {"heading": "Not found", "message": "There is no such token.", "signed_in": True,
             "csrf_token": session.csrf_token},
            status_code=404,
        )  # fmt: skip
    await revoke_where(id=token.id)
    return redirect("/admin/apps?done=revoked#tokens")


routes = [
    Route("/admin/", dashboard, methods=["GET"], name="admin_dashboard"),
    Route("/admin/login", login_form, methods=["GET"], name="admin_login_form"),
    Route("/admin/login", login, methods=["POST"], name="admin_login"),
    Route("/admin/logout", logout, methods=["POST"], name="admin_logout"),
    Route("/admin/hcard", update_hcard, methods=["POST"], name="admin_hcard"),
    Route(
        "/admin/tokens/{token_id:int}/revoke",
        revoke_token,
        methods=["POST"],
        name="admin_revoke_token",
    ),
    # Last of the admin's: one path segment after /admin/ names a page of sections.
    Route("/admin/{page}", admin_page, methods=["GET"], name="admin_page"),
]
