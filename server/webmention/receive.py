"""The Webmention endpoint and the status page it points senders to.

Spec: https://www.w3.org/TR/webmention/#receiving-webmentions (§3.2, §3.2.1 request
verification, §3.2.3 error responses).

`POST /webmention` takes a form-encoded `source` and `target` and checks, before answering:
both are absolute http(s) URLs, they are different pages (fragments ignored) and the target
is a post of this site that has a page (its permalink, a former permalink or its short
link; the fragment is ignored). The home page and other pages take no webmentions. Any
failure is a 400 with a plain-text reason. A valid request is stored (one row per source
and target: a re-send resets it to pending, never duplicates) and a verification job is
queued, in one trip to the database (`intake`), and the answer is **201 Created** with the
status page in `Location` (§3.2: "If the receiver creates a status page ... MUST reply
with an HTTP 201 Created"). A browser (the "Send a webmention" form on every permalink,
for people whose site sends none) gets the same status codes with a page that says what
happened and links back to the post.

A URL that cannot be fetched at all (`hearth.server.core.http.check_url`: `http://0177.0.0.1/`,
a host with a space or a 64-character label) is a 400 too. Limits
(`webmention_settings.WebmentionSettings`): more webmentions a minute from one source host,
or in all, than allowed are answered 429 with `Retry-After`; while more verifications wait
in the queue than allowed (read at most once a second), 503 with `Retry-After`. Nothing
is stored for either.

`GET /webmention/status/{token}` shows pending, accepted, rejected (why) or deleted, as
HTML, or JSON for `Accept: application/json`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from hearth.server.core import job_queue, one_trip
from hearth.server.core.http import check_url
from hearth.server.core.mf2 import normalize_url
from hearth.server.core.models import Interaction, InteractionState, Job, JobState
from hearth.server.core.settings import Settings
from hearth.server.core.site_links import SiteLink
from hearth.server.core.timestamps import rfc3339
from hearth.server.core.web import error_page, render, settings_of
from hearth.server.webmention import intake, verify
from hearth.server.webmention.intake import (
    QUEUE_FULL_RETRY_AFTER,
    RESENT_REASON,
    BadRequest,
    Limits,
    Mention,
    QueueGauge,
)
from hearth.server.webmention.links import is_own
from hearth.server.webmention.webmention_settings import webmention_settings

__all__ = ["QUEUE_FULL_RETRY_AFTER", "RESENT_REASON", "links", "routes"]

FORM = "application/x-www-form-urlencoded"
# The stored columns' length.
MAX_URL = verify.MAX_URL
# Two such URLs, percent-encoded, fit easily.
MAX_BODY = 16 * 1024


def _bad(exc: BadRequest) -> PlainTextResponse:
    return PlainTextResponse(str(exc) + "\n", status_code=exc.status_code, headers=_headers(exc))


def _headers(exc: BadRequest) -> dict[str, str] | None:
    return None if exc.retry_after is None else {"Retry-After": str(exc.retry_after)}


def _limits(request: Request) -> tuple[Limits, QueueGauge]:
    """The app's limits and queue gauge, made on first use from its settings."""
    state = request.app.state
    limits: Limits | None = getattr(state, "webmention_limits", None)
    if limits is None:
        wm = webmention_settings(settings_of(request))
        limits = state.webmention_limits = Limits(wm.per_host_per_minute, wm.per_minute)
        state.webmention_queue = QueueGauge()
    gauge: QueueGauge = state.webmention_queue
    return limits, gauge


async def _form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM:
        raise BadRequest(f"Content-Type must be {FORM}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest(f"the request body is larger than {MAX_BODY} bytes")
    try:
        pairs = parse_qsl(body.decode("utf-8"), errors="strict", max_num_fields=20)
    except ValueError as exc:
        raise BadRequest("the request body is not a valid form") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _url(form: dict[str, str], name: str) -> str:
    """The `name` field as a valid absolute http(s) URL (§3.2.1), fragment and all."""
    value = form.get(name, "").strip()
    if not value:
        raise BadRequest(f"{name} is missing")
    if len(value) > MAX_URL:
        raise BadRequest(f"{name} is longer than {MAX_URL} characters")
    if any(c.isspace() or not c.isprintable() for c in value) or normalize_url(value) is None:
        raise BadRequest(f"{name} must be an absolute http:// or https:// URL")
    problem = check_url(value)
    if problem is not None:
        raise BadRequest(f"{name} is not a URL that can be fetched: {problem}")
    return value


def target_path(settings: Settings, target: str) -> str:
    """The path of `target` (normalized, no fragment) below the site's root, or BadRequest."""
    if not is_own(target, settings):
        raise BadRequest("target is not a page of this site")
    path = unquote(urlsplit(target).path)[len(urlsplit(settings.url).path) :]
    if not path:
        raise BadRequest("target is the home page, which takes no webmentions: send a post URL")
    return path


def _from_browser(request: Request) -> bool:
    """A person sending the form on a permalink (their browser asks for HTML), not a site."""
    return "text/html" in request.headers.get("accept", "")


async def _answer_person(
    request: Request,
    status_code: int,
    form: dict[str, str],
    headers: dict[str, str] | None = None,
    **view: str,
) -> HTTPResponse:
    """The form's answer as a page: what happened, and a link back to the post."""
    settings = settings_of(request)
    target = normalize_url(form.get("target", ""))
    back = target if target and is_own(target, settings) else settings.url
    context = {"back": back, "source": form.get("source", ""), **view}
    if "status_url" in view:
        headers = {**(headers or {}), "Location": view["status_url"]}
    return await render(
        request, "webmention_sent.html", context, status_code=status_code, headers=headers
    )


async def receive(request: Request) -> HTTPResponse:
    """§3.2: the same checks and status codes for everyone; a browser (the permalinks'
    "Send a webmention" form) gets them as a page instead of plain text."""
    settings = settings_of(request)
    form: dict[str, str] = {}
    try:
        form = await _form(request)
        source, target = _url(form, "source"), _url(form, "target")
        target = normalize_url(target) or target
        if normalize_url(source) == target:
            raise BadRequest("source and target must be different pages")
        mention = Mention(source, target, target_path(settings, target))
        limits, gauge = _limits(request)
        queue_full = await gauge.full(webmention_settings(settings).max_queued)
        stored = await one_trip.run(intake.store(mention, queue_full, limits))
    except BadRequest as exc:
        if _from_browser(request):
            return await _answer_person(
                request, exc.status_code, form, _headers(exc), error=str(exc)
            )
        return _bad(exc)
    gauge.added()
    job_queue.announce()
    status_url = settings.absolute(f"webmention/status/{stored.status_token}")
    if _from_browser(request):
        return await _answer_person(request, 201, form, status_url=status_url)
    message = f"Accepted for verification. Its status: {status_url}\n"
    return PlainTextResponse(message, status_code=201, headers={"Location": status_url})


async def reverifying(row: Interaction) -> bool:
    """Whether a shown response was sent again and its new version is not verified yet."""
    if row.state != InteractionState.ACCEPTED:
        return False
    waiting = Job.filter(
        kind=verify.KIND,
        idempotency_key__startswith=verify.job_key_prefix(row.id),
        state__in=[JobState.QUEUED, JobState.RUNNING],
    )
    return await waiting.exists()


# What rows stored before reasons were kept plain said of a failed fetch: the raw network
# error followed (refused, reset, a TLS failure), which must not reach a public page.
_RAW_NETWORK_ERROR = "could not fetch the source:"


def public_reason(reason: str | None) -> str | None:
    """`reason` as the status page may show it (old rows' raw errors replaced)."""
    if reason is None:
        return None
    retrying = reason.startswith(verify.RETRY_PREFIX)
    if reason.removeprefix(verify.RETRY_PREFIX).startswith(_RAW_NETWORK_ERROR):
        return (verify.RETRY_PREFIX if retrying else "") + verify.UNREACHABLE
    return reason


def status_view(row: Interaction, *, verifying: bool = False) -> dict[str, object]:
    """What the status page says (also its JSON).

    `verifying`: a re-send is being verified; the status is pending, while the version
    verified before may still be shown.
    """
    shown = (
        row.state == InteractionState.ACCEPTED
        and row.approval == "approved"
        and row.duplicate_of_id is None  # type: ignore[attr-defined]
    )
    return {
        "source": row.source,
        "target": row.target,
        "status": "pending" if verifying else InteractionState(row.state).value,
        "reason": public_reason(row.reason),
        "approval": str(row.approval),
        "shown": shown,
        "updated": rfc3339(row.updated_at),
    }


async def status(request: Request) -> HTTPResponse:
    row = await Interaction.get_or_none(status_token=request.path_params["token"])
    if row is None:
        return await error_page(request, 404, "Not found", "There is no such webmention.")
    view = status_view(row, verifying=await reverifying(row))
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse(view)
    return await render(request, "webmention_status.html", {"wm": view})


links = [SiteLink("webmention", "webmention")]
routes = [
    Route("/webmention", receive, methods=["POST"], name="webmention"),
    Route("/webmention/status/{token}", status, methods=["GET"], name="webmention_status"),
]
