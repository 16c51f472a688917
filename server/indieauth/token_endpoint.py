"""The token endpoint, and the endpoints that check and revoke what it issued.

Specs: https://indieauth.spec.indieweb.org/#redeeming-the-authorization-code (tokens),
https://indieauth.spec.indieweb.org/#refresh-tokens,
https://indieauth.spec.indieweb.org/#access-token-verification (introspection, RFC 7662),
https://indieauth.spec.indieweb.org/#token-revocation (RFC 7009),
https://indieauth.spec.indieweb.org/#user-information, and, for older clients and servers,
https://indieauth.spec.indieweb.org/20201126/#access-token-verification (GET with the token)
and `action=revoke` (https://indieauth.spec.indieweb.org/20201126/#token-revocation).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hearth.server.core.rate_limits import app_window
from hearth.server.core.tokens import verify_token
from hearth.server.core.web import settings_of
from hearth.server.indieauth import grants
from hearth.server.indieauth.auth_requests import canonical_client_id
from hearth.server.indieauth.authorization import profile_of, token_error
from hearth.server.indieauth.indieauth_settings import IndieAuthSettings, indieauth
from hearth.server.indieauth.metadata import (
    INTROSPECTION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
)
from hearth.server.indieauth.request_bodies import BodyError, read_fields
from hearth.server.indieauth.scopes import ScopeError, parse_scope

__all__ = ["routes"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Guessing codes or refresh tokens is hopeless, but each try costs a database lookup.
TOKEN_REQUESTS_PER_MINUTE = 60


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _unauthorized(error: str | None, description: str) -> JSONResponse:
    """401 with the challenge RFC 6750 §3 asks for (no error code without credentials)."""
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    body = {"error": error or "unauthorized", "error_description": description}
    return JSONResponse(body, status_code=401, headers={**_NO_STORE, "WWW-Authenticate": challenge})


async def token(request: Request) -> Response:
    """POST: exchange a code or a refresh token; `action=revoke` revokes (legacy)."""
    retry_after = app_window(
        request.app.state, "indieauth_token_limiter", TOKEN_REQUESTS_PER_MINUTE
    ).take(_address(request))
    if retry_after:
        response = token_error("invalid_request", "Too many token requests; slow down.", 429)
        response.headers["Retry-After"] = str(retry_after)
        return response
    try:
        fields = await read_fields(request)
    except BodyError as error:
        return token_error("invalid_request", str(error), 413 if "larger" in str(error) else 400)
    if fields.get("action") == "revoke":
        await grants.revoke(fields.get("token", ""))
        return JSONResponse({}, headers=_NO_STORE)
    grant_type = fields.get("grant_type", "")
    lifetimes = indieauth(settings_of(request))
    try:
        if grant_type == "authorization_code":
            issued, scope = await _redeem(fields, lifetimes)
        elif grant_type == "refresh_token":
            issued, scope = await _refresh(fields, lifetimes)
        elif not grant_type:
            return token_error("invalid_request", "The request has no grant_type.")
        else:
            return token_error("unsupported_grant_type", f"grant_type {grant_type!r} is unknown.")
    except grants.GrantError as error:
        return token_error(error.error, error.description)
    body: dict[str, object] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "scope": issued.scope,
        "me": issued.me,
        "expires_in": issued.expires_in,
        "refresh_token": issued.refresh_token,
    }
    profile = await profile_of(settings_of(request), scope)
    if profile is not None:
        body["profile"] = profile
    return JSONResponse(body, headers=_NO_STORE)


def _required(fields: dict[str, str], *names: str) -> None:
    missing = [name for name in names if not fields.get(name)]
    if missing:
        raise grants.GrantError("invalid_request", f"Missing: {', '.join(missing)}.")


async def _redeem(
    fields: dict[str, str], lifetimes: IndieAuthSettings
) -> tuple[grants.Issued, str]:
    _required(fields, "code", "client_id", "redirect_uri")
    grant = await grants.redeem_code(
        code=fields["code"],
        client_id=canonical_client_id(fields["client_id"]),
        redirect_uri=fields["redirect_uri"],
        code_verifier=fields.get("code_verifier") or None,
    )
    return await grants.issue_tokens(grant, lifetimes), grant.scope


async def _refresh(
    fields: dict[str, str], lifetimes: IndieAuthSettings
) -> tuple[grants.Issued, str]:
    _required(fields, "refresh_token", "client_id")
    try:
        scope = parse_scope(fields.get("scope", ""))
    except ScopeError as error:
        raise grants.GrantError("invalid_scope", str(error)) from None
    issued = await grants.refresh(
        refresh_token=fields["refresh_token"],
        client_id=canonical_client_id(fields["client_id"]),
        scope=scope or None,
        lifetimes=lifetimes,
    )
    return issued, issued.scope


async def verify(request: Request) -> Response:
    """GET with a Bearer token: who it is for (the 2020 verification, for older servers)."""
    row = await verify_token(_bearer(request) or "")
    if row is None:
        return _unauthorized("invalid_token", "The token is unknown, expired or revoked.")
    body = {"me": row.me, "client_id": row.client_id, "scope": row.scope}
    return JSONResponse(body, headers=_NO_STORE)


async def introspect(request: Request) -> Response:
    """RFC 7662: for any caller holding a live token of Hearth's."""
    presented = _bearer(request)
    if presented is None:
        return _unauthorized(None, "Introspection needs a Bearer token issued by this site.")
    if await verify_token(presented, count_use=False) is None:
        return _unauthorized("invalid_token", "The Bearer token is unknown, expired or revoked.")
    try:
        fields = await read_fields(request)
    except BodyError as error:
        return token_error("invalid_request", str(error))
    row = await verify_token(fields.get("token", ""), count_use=False)
    if row is None:
        return JSONResponse({"active": False}, headers=_NO_STORE)
    body: dict[str, object] = {
        "active": True,
        "me": row.me,
        "client_id": row.client_id,
        "scope": row.scope,
        "iat": int(row.created_at.timestamp()),
        "token_type": "Bearer",
    }
    if row.expires_at is not None:
        body["exp"] = int(row.expires_at.timestamp())
    return JSONResponse(body, headers=_NO_STORE)


async def revoke(request: Request) -> Response:
    """RFC 7009: 200 whatever the token was."""
    try:
        fields = await read_fields(request)
    except BodyError as error:
        return token_error("invalid_request", str(error))
    await grants.revoke(fields.get("token", ""))
    return JSONResponse({}, headers=_NO_STORE)


async def userinfo(request: Request) -> Response:
    """The owner's profile, for a token with the `profile` scope."""
    presented = _bearer(request)
    if presented is None:
        return _unauthorized(None, "Send the access token as a Bearer token.")
    row = await verify_token(presented)
    if row is None:
        return _unauthorized("invalid_token", "The token is unknown, expired or revoked.")
    profile = await profile_of(settings_of(request), row.scope)
    if profile is None:
        body = {"error": "insufficient_scope", "error_description": "Needs the profile scope."}
        return JSONResponse(body, status_code=403, headers=_NO_STORE)
    return JSONResponse(profile, headers=_NO_STORE)


routes = [
    Route(TOKEN_PATH, token, methods=["POST"], name="indieauth_token"),
    Route(TOKEN_PATH, verify, methods=["GET"], name="indieauth_token_verify"),
    Route(INTROSPECTION_PATH, introspect, methods=["POST"], name="indieauth_introspect"),
    Route(REVOCATION_PATH, revoke, methods=["POST"], name="indieauth_revoke"),
    Route(USERINFO_PATH, userinfo, methods=["GET"], name="indieauth_userinfo"),
]
