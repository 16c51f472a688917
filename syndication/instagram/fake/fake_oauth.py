"""Instagram Login: the authorize redirect, the code exchange and long-lived tokens.

As https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login
(Business Login), https://developers.facebook.com/docs/instagram-platform/reference/access_token
and https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token
document them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from hearth.syndication.instagram.fake.fake_responses import (
    error_response,
    guard,
    json_response,
    request_params,
)

if TYPE_CHECKING:
    from hearth.syndication.instagram.fake.fake_state import FakeState

LONG_LIVED_SECONDS = 5183944  # the documented example's expires_in


async def authorize(fake: FakeState, request: Request) -> Response:
    """GET www.instagram.com/oauth/authorize: the owner allows at once (or cancels).

    Redirects to `redirect_uri?code=...&state=...#_`, or, once `deny_next_authorization`
    is set, with the documented `error=access_denied` parameters instead.
    """
    params = request.query_params
    redirect_uri = params.get("redirect_uri", "")
    if (
        params.get("client_id") != fake.app_id
        or params.get("response_type") != "code"
        or not redirect_uri.startswith(("http://", "https://"))
    ):
        return HTMLResponse("<h1>Invalid request: check client_id and redirect_uri</h1>", 400)
    state = {"state": params["state"]} if "state" in params else {}
    if fake.deny_next_authorization:
        fake.deny_next_authorization = False
        query = {"error": "access_denied", "error_reason": "user_denied"}
        query |= {"error_description": "The user denied your request", **state}
        return Response(status_code=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"})
    query = {"code": fake.new_code(redirect_uri), **state}
    return Response(status_code=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}#_"})


async def oauth_token(fake: FakeState, request: Request) -> Response:
    """POST api.instagram.com/oauth/access_token: code -> short-lived token."""
    form = await request_params(request)
    code = form.get("code", "")
    valid = (
        form.get("client_id") == fake.app_id
        and form.get("client_secret") == fake.app_secret
        and form.get("grant_type") == "authorization_code"
        and fake.codes.get(code) == form.get("redirect_uri")
    )
    if not valid:
        error = "Matching code was not found or was already used"
        body = {"error_type": "OAuthException", "code": 400, "error_message": error}
        return JSONResponse(body, status_code=400)
    del fake.codes[code]
    token = "IGQ" + secrets.token_urlsafe(24)
    fake.short_tokens.add(token)
    permissions = "instagram_business_basic,instagram_business_manage_comments"
    data = {"access_token": token, "user_id": fake.user_id, "permissions": permissions}
    return JSONResponse(data if fake.flat_oauth_response else {"data": [data]})


async def exchange_token(fake: FakeState, request: Request) -> Response:
    """GET /access_token?grant_type=ig_exchange_token: short-lived -> 60 days."""
    params = await request_params(request)
    if params.get("client_secret") != fake.app_secret:
        return error_response(fake, 400, 101, "Error validating client secret.")
    if params.get("access_token") not in fake.short_tokens:
        return error_response(fake, 400, 190, "Invalid OAuth access token.", subcode=467)
    fake.short_tokens.discard(params["access_token"])
    return _new_long_lived(fake)


async def refresh_token(fake: FakeState, request: Request) -> Response:
    """GET /refresh_access_token?grant_type=ig_refresh_token."""
    params, refusal = await guard(fake, request)
    if refusal:
        return refusal
    if params.get("grant_type") != "ig_refresh_token":
        return error_response(fake, 400, 100, "Unsupported grant_type")
    return _new_long_lived(fake)


def _new_long_lived(fake: FakeState) -> Response:
    """A fresh long-lived token, which becomes `fake.token` and stays valid with the others."""
    fake.token = "IGAA" + secrets.token_urlsafe(24)
    fake.tokens.add(fake.token)
    data = {"access_token": fake.token, "token_type": "bearer"}
    return json_response(fake, data | {"expires_in": LONG_LIVED_SECONDS})
