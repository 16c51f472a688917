"""The Micropub endpoint at `{HEARTH_URL}micropub`: HTTP in, `micropub.*` calls, JSON out.

Spec: https://www.w3.org/TR/micropub/ (W3C Recommendation, 23 May 2017): POST creates,
updates, deletes and undeletes (§3.3-§3.5), GET queries (§3.7), errors as JSON (§3.8),
authentication (§5). Discovery: https://www.w3.org/TR/micropub/#endpoint-discovery (§5.3),
through `links` (`rel="micropub"` on every public page).

The endpoint never redirects (micropub.rocks follows none; `/micropub/` is answered too, not
redirected), answers OPTIONS with `Allow` and HEAD like GET (authenticated), and answers
every refused request with a JSON error (`MicropubError`), never a 500. Browser-based
clients get CORS headers (`hearth.micropub.cors`).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hearth.micropub import auth, post_actions, queries
from hearth.micropub.body import Body, Limits, read_body, syntax_of
from hearth.micropub.cors import allow_browser_clients
from hearth.micropub.errors import InvalidRequest, MicropubError
from hearth.micropub.parsing import MicropubRequest, parse_form, parse_json
from hearth.micropub.receipts import MAX_IDEMPOTENCY_KEY
from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.models import Token
from hearth.server.core.settings import Settings
from hearth.server.core.site_links import SiteLink
from hearth.server.core.web import settings_of

__all__ = ["links", "routes"]

_ALLOW = "GET, HEAD, OPTIONS, POST"
# Answered here (with 405 and a JSON error) rather than by Starlette's plain-text 405.
_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
_NO_STORE = {"Cache-Control": "no-store"}


def _json(body: Mapping[str, object], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**_NO_STORE, **headers})


def error_response(exc: MicropubError) -> JSONResponse:
    """The §3.8 error body; 401s also say how to authenticate (RFC 6750 §3), and a 503
    when to try again (`Retry-After`)."""
    headers: dict[str, str] = {}
    if exc.status == 401:
        challenge = 'Bearer realm="micropub"'
        if exc.scope:
            challenge += f', error="insufficient_scope", scope="{exc.scope}"'
        headers["WWW-Authenticate"] = challenge
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return _json(exc.to_json(), exc.status, **headers)


def _idempotency_key(request: Request) -> str | None:
    value = request.headers.get("idempotency-key", "").strip().strip('"')
    if len(value) > MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters")
    return value or None


def _parse(body: Body) -> MicropubRequest:
    if body.syntax == "json":
        return parse_json(body.raw)
    return parse_form(body.fields, [name for name, _ in body.files])


async def _act(request: Request, token: Token, body: Body) -> Response:
    """Parse the body, check the token's scope for it, and do it."""
    settings = settings_of(request)
    parsed = _parse(body)
    auth.require_scope(token, parsed.kind)
    if parsed.kind == "create":
        files = [upload for _, upload in body.files]
        outcome = await post_actions.create(
            settings,
            token,
            parsed,
            files,
            _idempotency_key(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    elif parsed.kind == "update":
        outcome = await post_actions.update(settings, parsed)
    elif parsed.kind == "delete":
        outcome = await post_actions.delete(settings, parsed)
    else:
        outcome = await post_actions.undelete(settings, parsed)
    headers = {}
    if outcome.location:
        headers["Location"] = outcome.location
    if outcome.shortlink:
        headers["Link"] = f'<{outcome.shortlink}>; rel="shortlink"'
    return Response(status_code=outcome.status, headers=headers)


async def _post(request: Request) -> Response:
    verifier = auth.verifier_of(request.app.state)
    syntax = syntax_of(request)
    header = auth.bearer_from_header(request.headers.get("authorization"))
    token: Token | None = None
    if header is not None:
        # Checked before the body is read: a bad token never gets to upload anything.
        token = await auth.authenticate(verifier, header)
    elif syntax == "json":
        # Only form bodies can carry access_token (§5.1), so this is 401 at once.
        auth.presented_token(None, [])
    async with read_body(request, Limits.for_settings(settings_of(request))) as body:
        presented = auth.presented_token(header, body.access_tokens)
        token = token or await auth.authenticate(verifier, presented)
        return await _act(request, token, body)


async def _query(request: Request) -> Response:
    header = auth.bearer_from_header(request.headers.get("authorization"))
    presented = auth.presented_token(header, [])
    token = await auth.authenticate(auth.verifier_of(request.app.state), presented)
    query = queries.Query(
        settings_of(request),
        request.query_params,
        token=token,
        target_sources=request.app.state.syndication_targets,
    )
    return _json(await queries.answer(query))


async def micropub(request: Request) -> Response:
    """Every method of `/micropub`, each refusal a JSON error."""
    try:
        if request.method in ("GET", "HEAD"):
            return await _query(request)
        if request.method == "POST":
            return await _post(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": _ALLOW})
        error = InvalidRequest(f"{request.method} is not supported here", status=405)
        return _json(error.to_json(), 405, Allow=_ALLOW)
    except MicropubError as exc:
        return error_response(exc)


routes = [
    Route("/micropub", allow_browser_clients(micropub), methods=_METHODS, name="micropub"),
    Route("/micropub/", allow_browser_clients(micropub), methods=_METHODS),
]

# Advertised on every public page, as a `Link` header and a `<link>` tag (§5.3).
links = [SiteLink("micropub", "micropub")]


def body_limits(settings: Settings) -> list[BodyLimit]:
    """The endpoint's own body limits (`Limits`), declared to the core's backstop."""
    limits = Limits.for_settings(settings)
    return [BodyLimit("/micropub", limits.text, limits.multipart, own_check=True)]
