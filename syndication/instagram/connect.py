"""Connect Instagram from the admin (Instagram Login OAuth), and "Poll now".

Business Login for Instagram (its "Business Login" page under
https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login,
and https://developers.facebook.com/docs/instagram-platform/reference/access_token): the
owner is sent to `https://www.instagram.com/oauth/authorize` with the app id, our redirect
URI, the scopes and a `state`; Instagram sends the browser back to
`/admin/instagram/callback?code=...&state=...#_` (or
`?error=access_denied&error_reason=user_denied...` when the owner cancels). The code, valid
once and for an hour, buys a short-lived token, that one the 60-day token, and
`connection.connect` stores the account (replacing any other) and revives the Instagram jobs
that died of the old token.

* `state` is random, single-use, short-lived and bound to the admin session: only its
  SHA-256, the session's id hash and an expiry are stored (the `instagram_oauth_state`
  site setting), and the callback deletes that row before it exchanges anything. Another
  session's, a stale or a reused state changes nothing.
* Every failure is an admin page saying what happened and what to do, never a traceback;
  tokens and the app secret never reach a page (the client redacts them from its errors).
* `POST /admin/instagram/poll` (CSRF-checked by `require_admin`) queues a poll now.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.server.admin.responses import redirect, render_admin
from hearth.server.admin.sessions import require_admin
from hearth.server.core import job_queue
from hearth.server.core.models import AdminSession, SiteSetting
from hearth.server.core.settings import Settings
from hearth.server.core.web import settings_of
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram import connection
from hearth.syndication.instagram.admin import CONNECT_COMMAND
from hearth.syndication.instagram.api_errors import (
    InstagramError,
    RateLimited,
    TemporaryError,
    TokenInvalid,
)
from hearth.syndication.instagram.client import DEFAULT_API_URL, InstagramClient
from hearth.syndication.instagram.poll import POLL
from hearth.syndication.instagram.silo_settings import instagram
from hearth.syndication.instagram.tables import InstagramAccount

log = logging.getLogger(__name__)

CONNECT_PATH = "/admin/instagram/connect"
CALLBACK_PATH = "/admin/instagram/callback"
POLL_PATH = "/admin/instagram/poll"
AUTHORIZE_URL = "https://www.instagram.com/oauth/authorize"
# Reading media and writing the short-link comment (the `instagram_business_*` scope names;
# the old `business_*` ones stopped working in January 2025).
SCOPES = ("instagram_business_basic", "instagram_business_manage_comments")
STATE_KEY = "instagram_oauth_state"
# Long enough to sign in on Instagram, short enough that a leaked link soon goes stale.
STATE_LIFETIME = timedelta(minutes=15)
# `error` values are echoed only when they look like an OAuth error code, never free text.
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")
# Back to the dashboard's section with a notice (hearth.server.admin.views.NOTICES).
CONNECTED_URL = "/admin/silos?done=instagram#instagram"
POLL_QUEUED_URL = "/admin/silos?done=instagram_poll#instagram"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def redirect_uri(settings: Settings) -> str:
    """The callback URL, which the Meta app must list under "Valid OAuth Redirect URIs"."""
    return settings.absolute(CALLBACK_PATH)


def missing_settings(settings: Settings) -> list[str]:
    missing = []
    if not instagram(settings).app_id:
        missing.append("HEARTH_INSTAGRAM_APP_ID")
    if instagram(settings).app_secret is None or not str(instagram(settings).app_secret):
        missing.append("HEARTH_INSTAGRAM_APP_SECRET")
    return missing


def authorize_url(settings: Settings, state: str) -> str:
    """Instagram's authorize URL; a fake or proxy API URL serves the authorize page too."""
    root = instagram(settings).api_url.rstrip("/")
    base = AUTHORIZE_URL if root == DEFAULT_API_URL else f"{root}/oauth/authorize"
    query = {
        "client_id": instagram(settings).app_id or "",
        "redirect_uri": redirect_uri(settings),
        "response_type": "code",
        "scope": ",".join(SCOPES),
        "state": state,
    }
    return f"{base}?{urlencode(query, safe=',')}"


async def issue_state(session: AdminSession) -> str:
    """A new state for `session`; it replaces any earlier one (one flow at a time)."""
    state = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + STATE_LIFETIME
    value = {"state": _digest(state), "session": session.id_hash, "expires": expires.timestamp()}
    await SiteSetting.update_or_create(key=STATE_KEY, defaults={"value": value})
    return state


async def consume_state(session: AdminSession, state: str) -> bool:
    """Whether `state` is the live one of `session`; a match is used up at once."""
    row = await SiteSetting.get_or_none(key=STATE_KEY)
    stored: Any = row.value if row is not None else None
    if not state or not isinstance(stored, dict):
        return False
    matches = (
        hmac.compare_digest(str(stored.get("state", "")), _digest(state))
        and hmac.compare_digest(str(stored.get("session", "")), session.id_hash)
        and float(stored.get("expires") or 0) > time.time()
    )
    # The DELETE decides between two callbacks racing with the same state: one wins.
    return matches and bool(await SiteSetting.filter(key=STATE_KEY).delete())


def _page(
    request: Request,
    session: AdminSession,
    template: str,
    status_code: int,
    **context: Any,
) -> Response:
    context |= {"signed_in": True, "csrf_token": session.csrf_token}
    return render_admin(request, template, context, status_code=status_code)


def _problem(
    request: Request,
    session: AdminSession,
    status_code: int,
    heading: str,
    message: str,
    *,
    advice: str = "",
    detail: str = "",
) -> Response:
    return _page(
        request, session, "admin/instagram_error.html", status_code,
        heading=heading, message=message, advice=advice, detail=detail,
        connect_url=CONNECT_PATH,
    )  # fmt: skip


def _setup_page(request: Request, session: AdminSession, settings: Settings) -> Response:
    return _page(
        request, session, "admin/instagram_setup.html", 200,
        missing=missing_settings(settings), redirect_uri=redirect_uri(settings),
        connect_command=CONNECT_COMMAND,
    )  # fmt: skip


@require_admin
async def start(request: Request, session: AdminSession) -> Response:
    """Send the owner to Instagram to allow Hearth, or say which settings are missing."""
    settings = settings_of(request)
    if missing_settings(settings):
        return _setup_page(request, session, settings)
    return redirect(authorize_url(settings, await issue_state(session)))


def _exchange_failure(settings: Settings, exc: InstagramError) -> tuple[int, str, str]:
    """(status, heading, what to do) for an error while trading the code for the account."""
    again = "Start again with Connect Instagram: each code works once, for an hour."
    if isinstance(exc, RateLimited):
        return 502, "Instagram is rate limiting Hearth", "Wait a while, then start again."
    if isinstance(exc, TemporaryError):
        heading = "Instagram could not be reached or failed"
        return 502, heading, "Try again in a few minutes: " + again
    if isinstance(exc, TokenInvalid):
        return 502, "Instagram refused the token it had just issued", again
    if exc.status is not None and 400 <= exc.status < 500:
        advice = (
            f"{again} If it keeps failing, check that HEARTH_INSTAGRAM_APP_ID and "
            "HEARTH_INSTAGRAM_APP_SECRET are the Instagram app ID and secret (not the Facebook "
            f"app's), and that {redirect_uri(settings)} is one of the app's Valid OAuth "
            "Redirect URIs."
        )
        return 400, "Instagram did not accept the sign-in", advice
    return 502, "Instagram could not be reached", "Check the network, then start again."


async def _connect_with_code(
    settings: Settings, http: httpx.AsyncClient, code: str
) -> InstagramAccount:
    client = InstagramClient(http, settings)
    short = await client.exchange_code(code, redirect_uri(settings))
    long_lived = await client.long_lived_token(short.access_token)
    return await connection.connect(
        settings, http, str(long_lived.access_token), expires_in=long_lived.expires_in
    )


@require_admin
async def callback(request: Request, session: AdminSession) -> Response:
    """Instagram sends the owner back here with a code (or an error) and our state."""
    settings = settings_of(request)
    params = request.query_params
    if missing_settings(settings):
        return _setup_page(request, session, settings)
    error = params.get("error")
    if not await consume_state(session, params.get("state", "")):
        return _problem(
            request, session, 400, "This Instagram sign-in was not started here",
            "The link back from Instagram does not match a Connect Instagram started in this "
            "admin session in the last few minutes, or it was used already. Nothing changed.",
            advice="Start again with Connect Instagram.",
        )  # fmt: skip
    if error == "access_denied":
        return _problem(
            request, session, 200, "Instagram not connected",
            "You cancelled on Instagram or did not allow Hearth access. Nothing changed.",
            advice="To connect, start again and allow both permissions Hearth asks for.",
        )  # fmt: skip
    if error is not None:
        shown = error if _ERROR_CODE.match(error) else "unknown"
        return _problem(
            request, session, 400, "Instagram did not allow the connection",
            "Instagram answered with an error instead of a code. Nothing changed.",
            advice="Start again with Connect Instagram.", detail=shown,
        )  # fmt: skip
    # "The #_ appended to the end of the redirect URI is not part of the code" (Meta's docs).
    code = params.get("code", "").strip().removesuffix("#_")
    if not code:
        return _problem(
            request, session, 400, "Instagram sent no code",
            "The link back from Instagram carries no authorization code. Nothing changed.",
            advice="Start again with Connect Instagram.",
        )  # fmt: skip
    http: httpx.AsyncClient = request.app.state.http
    try:
        account = await _connect_with_code(settings, http, code)
    except InstagramError as exc:
        status, heading, advice = _exchange_failure(settings, exc)
        log.warning("instagram connect failed: %s", exc)
        message = "Hearth could not finish connecting your Instagram account. Nothing changed."
        return _problem(request, session, status, heading, message, advice=advice, detail=str(exc))
    except (KeyError, TypeError, ValueError) as exc:  # an answer without the expected fields
        log.warning("instagram connect: unexpected answer: %s", type(exc).__name__)
        return _problem(
            request, session, 502, "Instagram's answer was not understood",
            "Instagram answered without a token or account where Hearth expected one. "
            "Nothing changed.",
            advice="Start again in a few minutes; if it persists, use the CLI with a token.",
        )  # fmt: skip
    log.info("instagram: connected @%s (id %s) from the admin", account.username, account.user_id)
    return redirect(CONNECTED_URL)


@require_admin
async def poll_now(request: Request, session: AdminSession) -> Response:
    """Queue an `instagram.poll` now (at most one per second, however often it is pressed)."""
    account = await accounts.current_account()
    if account is None:
        return _problem(
            request, session, 409, "No Instagram account is connected",
            "There is nothing to poll yet.", advice="Connect an account first.",
        )  # fmt: skip
    if account.token_state != accounts.TOKEN_OK:
        return _problem(
            request, session, 409, f"The Instagram token is {account.token_state}",
            "Instagram refuses the stored token, so a poll would fail. Nothing was queued.",
            advice=account.last_error or accounts.RECONNECT,
        )  # fmt: skip
    await job_queue.enqueue(POLL, {"reason": "admin"}, key=f"{POLL}:admin:{int(time.time())}")
    return redirect(POLL_QUEUED_URL)


routes = [
    Route(CONNECT_PATH, start, methods=["GET"], name="admin_instagram_connect"),
    Route(CALLBACK_PATH, callback, methods=["GET"], name="admin_instagram_callback"),
    Route(POLL_PATH, poll_now, methods=["POST"], name="admin_instagram_poll"),
]
