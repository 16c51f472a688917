"""CSRF tokens: one per admin session, and a signed pre-session token for the sign-in form.

Signed in, every unsafe admin request must send the session's token (form field
`csrf_token`, or an `X-CSRF-Token` header for scripts), compared in constant time.

Before sign-in there is no session to tie a token to, so the sign-in form uses a signed
double-submit: a cookie holds a random nonce and its issue time, and the form carries an
HMAC of both under the site's secret key. A forged cross-site form cannot read the cookie
(and with SameSite=Lax the browser does not even send it), so it cannot submit guesses that
would count against — and lock out — the owner's address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from starlette.datastructures import FormData
from starlette.requests import Request

from hearth.server.core.settings import Settings

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

LOGIN_COOKIE = "hearth_login_csrf"
LOGIN_COOKIE_PATH = "/admin/login"
# A sign-in form is good for two hours; one less than an hour old is reused on reload, so
# two open tabs do not invalidate each other.
LOGIN_MAX_AGE = 2 * 3600
LOGIN_REUSE_AGE = 3600


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


async def submitted_token(request: Request) -> str | None:
    """The CSRF token sent with `request`: the header, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    return _field(await request.form(), FIELD)


def _login_signature(settings: Settings, nonce: str, issued: int) -> str:
    key = str(settings.secret_key).encode()
    message = f"hearth-login-csrf|{nonce}|{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _parse_login_cookie(cookie: str | None, now: int) -> tuple[str, int] | None:
    if not cookie or len(cookie) > 128:
        return None
    nonce, _, issued_text = cookie.partition(".")
    if not nonce or not issued_text.isdigit():
        return None
    issued = int(issued_text)
    if not now - LOGIN_MAX_AGE <= issued <= now + 60:
        return None
    return nonce, issued


def login_token(settings: Settings, cookie: str | None) -> tuple[str, str, bool]:
    """(cookie value, form token, whether the cookie is new) for a sign-in form.

    The browser's current cookie is kept while it is young enough.
    """
    now = int(time.time())
    parsed = _parse_login_cookie(cookie, now)
    if cookie and parsed is not None and parsed[1] >= now - LOGIN_REUSE_AGE:
        return cookie, _login_signature(settings, *parsed), False
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{now}", _login_signature(settings, nonce, now), True


def login_token_valid(settings: Settings, cookie: str | None, token: str | None) -> bool:
    parsed = _parse_login_cookie(cookie, int(time.time()))
    if parsed is None:
        return False
    return tokens_match(_login_signature(settings, *parsed), token)
