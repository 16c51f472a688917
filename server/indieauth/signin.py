"""Visitors sign in with their own site: Hearth as an IndieAuth client.

Spec: https://indieauth.spec.indieweb.org/ (the flow:
https://indieauth.spec.indieweb.org/#authorization). `GET /signin` is the form; `POST
/signin` canonicalizes the entered URL (§3.4), discovers its server (`discovery`), stores a
pending sign-in (`pending`) and sends the browser to the authorization endpoint with PKCE
S256; `GET /signin/callback` checks the answer and redeems the code (`redeem`), then starts
a visitor session (`visitors`); `POST /signout` ends it. Every failure is a page saying what
went wrong, and no session.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hearth.server.admin import csrf
from hearth.server.core.rate_limits import app_window
from hearth.server.core.web import public_policy, render, settings_of
from hearth.server.indieauth import client_document, pkce
from hearth.server.indieauth.discovery import DiscoveryFailed, discover
from hearth.server.indieauth.pending import browser_value, create_pending, take_pending
from hearth.server.indieauth.profile_urls import ProfileUrlError, canonical_profile_url
from hearth.server.indieauth.redeem import SignInFailed, finish
from hearth.server.indieauth.redirects import with_query
from hearth.server.indieauth.visitors import (
    clear_visitor_cookie,
    current_visitor,
    end_visitor_session,
    start_visitor_session,
)

__all__ = ["routes"]

# The form's signed double-submit token (the admin sign-in form's scheme, its own cookie).
CSRF_COOKIE = "hearth_signin_csrf"
CSRF_PATH = "/signin"
# Each start fetches the entered site and its server: a script may not use Hearth to
# fetch pages at will.
STARTS_PER_MINUTE = 10


async def _form(
    request: Request, *, me: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    settings = settings_of(request)
    cookie, token, new = csrf.login_token(settings, request.cookies.get(CSRF_COOKIE))
    context = {"me": me, "error": error, "csrf_token": token}
    # Its answer redirects to the visitor's own authorization endpoint, anywhere: browsers
    # hold that redirect to the page's form-action too.
    policy = public_policy(settings, form_action="https: http:")
    headers = {"Content-Security-Policy": policy}
    response = await render(
        request, "indieauth/signin.html", context, status_code=status_code, headers=headers
    )
    if new:
        response.set_cookie(
            CSRF_COOKIE, cookie, max_age=csrf.LOGIN_MAX_AGE, path=CSRF_PATH,
            secure=settings.https, httponly=True, samesite="lax",
        )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


async def signin_form(request: Request) -> Response:
    return await _form(request)


async def start(request: Request) -> Response:
    settings = settings_of(request)
    form = await request.form()
    entered = form.get("me")
    entered = entered[:2048] if isinstance(entered, str) else ""
    token = form.get(csrf.FIELD)
    if not csrf.login_token_valid(
        settings, request.cookies.get(CSRF_COOKIE), token if isinstance(token, str) else None
    ):
        message = "The form expired or was not sent from this site. Please try again."
        return await _form(request, me=entered, error=message, status_code=403)
    starts = app_window(request.app.state, "indieauth_signin_limiter", STARTS_PER_MINUTE)
    wait = starts.take(request.client.host if request.client else "unknown")
    if wait:
        message = f"Too many sign-ins from your address just now. Try again in {wait} seconds."
        response = await _form(request, me=entered, error=message, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    allow_private = bool(settings.allowed_private_networks)
    try:
        me = canonical_profile_url(entered, allow_private=allow_private)
        server = await discover(request.app.state.http, me)
    except ProfileUrlError as error:
        return await _form(request, me=entered, error=str(error), status_code=400)
    except DiscoveryFailed as error:
        return await _form(request, me=entered, error=str(error), status_code=error.status)
    response = RedirectResponse("", status_code=303)
    state, verifier = await create_pending(server, me, browser_value(request, response))
    response.headers["Location"] = with_query(
        server.authorization_endpoint,
        {
            "response_type": "code",
            "client_id": client_document.client_id(settings),
            "redirect_uri": client_document.redirect_uri(settings),
            "state": state,
            "code_challenge": pkce.s256_challenge(verifier),
            "code_challenge_method": pkce.METHOD,
            "scope": "profile",
            "me": server.profile_url,
        },
    )
    return response


async def _failed(
    request: Request, message: str, status_code: int, heading: str = "Sign-in failed"
) -> Response:
    context = {"heading": heading, "message": message}
    response = await render(request, "indieauth/failed.html", context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


async def callback(request: Request) -> Response:
    params = {key: value[:4096] for key, value in request.query_params.items()}
    pending = await take_pending(request, params.get("state"))
    if pending is None:
        return await _failed(
            request,
            "This sign-in was not started in this browser, was already used, or took more than"
            " ten minutes. Please start again.",
            400,
        )
    settings = settings_of(request)
    try:
        signed_in = await finish(request.app.state.http, settings, pending, params)
    except SignInFailed as error:
        return await _failed(request, str(error), error.status)
    response = RedirectResponse(settings.url, status_code=303)
    previous = await current_visitor(request)
    if previous is not None:  # signing in again (perhaps as someone else) ends the old one
        await end_visitor_session(request, previous)
    await start_visitor_session(request, response, signed_in.me, signed_in.name, signed_in.photo)
    return response


async def signout(request: Request) -> Response:
    session = await current_visitor(request)
    response = RedirectResponse(settings_of(request).url, status_code=303)
    if session is not None:
        form = await request.form()
        token = form.get(csrf.FIELD)
        if not csrf.tokens_match(session.csrf_token, token if isinstance(token, str) else None):
            message = (
                "The sign-out form was not sent from this site. Go back, reload and try again."
            )
            return await _failed(request, message, 403, "Not signed out")
        await end_visitor_session(request, session)
    clear_visitor_cookie(request, response)
    return response


routes: list[BaseRoute] = [
    Route("/signin", signin_form, methods=["GET"], name="signin_form"),
    Route("/signin", start, methods=["POST"], name="signin_start"),
    Route(client_document.CALLBACK_PATH, callback, methods=["GET"], name="signin_callback"),
    Route("/signout", signout, methods=["POST"], name="signout"),
    *client_document.routes,
]
