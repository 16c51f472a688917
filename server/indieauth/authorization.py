"""The authorization endpoint: the owner approves an app, or an app learns who signed in.

Spec: https://indieauth.spec.indieweb.org/#authorization-request,
https://indieauth.spec.indieweb.org/#authorization-response and
https://indieauth.spec.indieweb.org/#profile-url-response (redeeming a code here gives only
the profile URL). GET shows the consent page to the signed-in owner (the sign-in page first,
then straight back); POST with `decision` is the owner's answer; POST with `code` is a
client redeeming a sign-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hearth.server.admin import login_url, render_admin
from hearth.server.admin.responses import secure
from hearth.server.admin.sessions import csrf_valid, current_session, forbidden
from hearth.server.core.models import AdminSession
from hearth.server.core.render import owner_card
from hearth.server.core.settings import Settings
from hearth.server.core.web import settings_of
from hearth.server.indieauth.auth_requests import (
    FIELDS,
    AuthRequest,
    ClientError,
    RedirectError,
    canonical_client_id,
    check_client,
    check_redirect,
    check_request,
)
from hearth.server.indieauth.client_info import ClientInfo, fetch_client_info
from hearth.server.indieauth.grants import GrantError, issue_code, redeem_code
from hearth.server.indieauth.indieauth_settings import indieauth
from hearth.server.indieauth.metadata import AUTHORIZATION_PATH, issuer
from hearth.server.indieauth.redirects import same_origin, with_query
from hearth.server.indieauth.tables import ClientApp

__all__ = ["profile_of", "routes", "token_error"]

# What each scope lets an app do, in the owner's words.
SCOPE_LABELS = {
    "profile": "See your name, photo and URL",
    "email": "See your email address",
    "create": "Publish new posts",
    "draft": "Save posts as drafts only",
    "update": "Edit your posts",
    "delete": "Delete your posts",
    "undelete": "Restore deleted posts",
    "media": "Upload files to your media endpoint",
    "read": "Read your posts, including drafts and private ones",
}
# Client details read at the consent page are trusted for the answer this long.
CLIENT_INFO_FRESH = timedelta(hours=1)


def _first_values(source: Mapping[str, str] | FormData) -> dict[str, str]:
    return {key: value for key, value in source.items() if isinstance(value, str)}


def _allow_private(settings: Settings) -> bool:
    return bool(settings.allowed_private_networks)


def _refusal(request: Request, message: str, status_code: int = 400) -> Response:
    context = {"message": message, "signed_in": False}
    return render_admin(request, "indieauth/refused.html", context, status_code=status_code)


def _back_to_client(
    request: Request, redirect_uri: str, params: Mapping[str, str], state: str | None
) -> Response:
    answer = dict(params)
    if state:
        answer["state"] = state
    answer["iss"] = issuer(settings_of(request))
    return secure(RedirectResponse(with_query(redirect_uri, answer), status_code=303))


async def _client_info(request: Request, client_id: str, *, reuse: bool) -> ClientInfo:
    """The app's details: read now, or (for the owner's answer) as read at the consent page."""
    if reuse:
        known = await ClientApp.get_or_none(client_id=client_id)
        if known is not None and known.updated_at > datetime.now(UTC) - CLIENT_INFO_FRESH:
            return ClientInfo(
                client_id,
                name=known.name,
                logo=known.logo,
                url=known.url,
                redirect_uris=tuple(known.redirect_uris),
            )
    info = await fetch_client_info(request.app.state.http, client_id, settings_of(request))
    await ClientApp.update_or_create(
        client_id=client_id,
        defaults={
            "name": info.name,
            "logo": info.logo,
            "url": info.url,
            "redirect_uris": list(info.redirect_uris),
        },
    )
    return info


async def _checked(
    request: Request, params: Mapping[str, str], *, reuse_client_info: bool
) -> tuple[AuthRequest, ClientInfo] | Response:
    """The request and its app, or the response that refuses it (a page or a redirect)."""
    settings = settings_of(request)
    try:
        client_id, redirect_uri = check_client(params, allow_private=_allow_private(settings))
    except ClientError as error:
        return _refusal(request, str(error))
    info = await _client_info(request, client_id, reuse=reuse_client_info)
    try:
        check_redirect(client_id, redirect_uri, info.redirect_uris)
    except ClientError as error:
        return _refusal(request, str(error))
    try:
        return check_request(params, client_id, redirect_uri), info
    except RedirectError as error:
        answer = {"error": error.error, "error_description": error.description}
        return _back_to_client(request, redirect_uri, answer, params.get("state"))


def _consent_headers(redirect_uri: str) -> dict[str, str]:
    """The admin's policy, except that the form may lead to the app's redirect URI: browsers
    apply `form-action` to the redirect that answers the form, too."""
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    policy = (
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
        f"form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'"
    )
    return {"Content-Security-Policy": policy}


def _consent(
    request: Request, session: AdminSession, auth: AuthRequest, info: ClientInfo
) -> Response:
    settings = settings_of(request)
    context = {
        "signed_in": True,
        "csrf_token": session.csrf_token,
        "app": info,
        "auth": auth,
        "fields": {k: v for k, v in auth.raw.items() if k != "scope"},
        "requested_scope": " ".join(auth.scope),
        "scopes": [(scope, SCOPE_LABELS.get(scope)) for scope in auth.scope],
        "return_host": urlsplit(auth.redirect_uri).netloc,
        "cross_origin": not same_origin(auth.client_id, auth.redirect_uri),
        "access_days": indieauth(settings).access_token_days,
        "action": AUTHORIZATION_PATH,
    }
    headers = _consent_headers(auth.redirect_uri)
    return render_admin(request, "indieauth/consent.html", context, headers=headers)


async def authorize(request: Request) -> Response:
    """GET: the consent page (after sign-in), or a refusal."""
    params = _first_values(request.query_params)
    session = await current_session(request)
    if session is None:
        # Only what needs no fetch is checked before the owner signs in: a stranger's
        # request must not make Hearth fetch whatever client_id it names.
        try:
            check_client(params, allow_private=_allow_private(settings_of(request)))
        except ClientError as error:
            return _refusal(request, str(error))
        return secure(RedirectResponse(login_url(request.url.path + "?" + request.url.query), 303))
    checked = await _checked(request, params, reuse_client_info=False)
    if isinstance(checked, Response):
        return checked
    auth, info = checked
    return _consent(request, session, auth, info)


async def answer(request: Request) -> Response:
    """POST: the owner's Allow or Deny, or a client redeeming a sign-in code."""
    form = await request.form()
    if "decision" not in form and "code" in form:
        return await redeem_profile(request, form)
    session = await current_session(request)
    # The request as the app sent it; the checkboxes named `scope` are the owner's choice.
    params = _first_values(form)
    params["scope"] = params.pop("scope_requested", "")
    if session is None:  # signed out meanwhile: sign in, then see the same request again
        again = urlencode({k: v for k, v in params.items() if k in FIELDS})
        return secure(RedirectResponse(login_url(f"{AUTHORIZATION_PATH}?{again}"), 303))
    if not await csrf_valid(request, session):
        return forbidden(request, "The approval did not come from this page. Start again.")
    checked = await _checked(request, params, reuse_client_info=True)
    if isinstance(checked, Response):
        return checked
    auth, _info = checked
    if params.get("decision") != "allow":
        denied = {"error": "access_denied", "error_description": "The owner said no."}
        return _back_to_client(request, auth.redirect_uri, denied, auth.state)
    chosen = [s for s in form.getlist("scope") if isinstance(s, str) and s in auth.scope]
    code = await issue_code(
        client_id=auth.client_id,
        redirect_uri=auth.redirect_uri,
        me=settings_of(request).url,
        scope=chosen,
        code_challenge=auth.code_challenge,
    )
    return _back_to_client(request, auth.redirect_uri, {"code": code}, auth.state)


def token_error(error: str, description: str, status_code: int = 400) -> JSONResponse:
    """An RFC 6749 §5.2 error answer."""
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store"})


async def profile_of(settings: Settings, scope: str) -> dict[str, object] | None:
    """The `profile` of a redemption answer (§5.3.4): only with the `profile` scope."""
    if "profile" not in scope.split():
        return None
    card = await owner_card(settings)
    profile: dict[str, object] = {"name": card.name, "url": card.url}
    if card.photo:
        profile["photo"] = card.photo
    return profile


async def redeem_profile(request: Request, form: FormData) -> Response:
    """A code redeemed here proves who signed in: `{"me", "profile"?}`, no token."""
    fields = _first_values(form)
    grant_type = fields.get("grant_type", "authorization_code")
    if grant_type != "authorization_code":
        return token_error("unsupported_grant_type", "Only authorization_code is redeemed here.")
    try:
        grant = await redeem_code(
            code=fields.get("code", ""),
            client_id=canonical_client_id(fields.get("client_id", "")),
            redirect_uri=fields.get("redirect_uri", ""),
            code_verifier=fields.get("code_verifier") or None,
        )
    except GrantError as error:
        return token_error(error.error, error.description)
    body: dict[str, object] = {"me": grant.me}
    profile = await profile_of(settings_of(request), grant.scope)
    if profile is not None:
        body["profile"] = profile
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


routes = [
    Route(AUTHORIZATION_PATH, authorize, methods=["GET"], name="indieauth_authorize"),
    Route(AUTHORIZATION_PATH, answer, methods=["POST"], name="indieauth_answer"),
]
