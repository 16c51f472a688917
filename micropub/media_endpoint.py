"""The Micropub media endpoint: files uploaded over HTTP into the core's media store.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6). A client POSTs multipart with
one part named `file` and gets 201 Created with the file's public, unguessable URL in
`Location`. Errors are Micropub's JSON errors (§3.8); nothing here ever redirects.

* The file goes through `hearth.server.core.media.ingest.ingest_upload`, as the Micropub
  endpoint's multipart `photo`/`video`/`audio` parts do (`hearth.micropub.uploads`): the type
  comes from the bytes, images are checked and stripped of EXIF and GPS, HEIC is stored as
  JPEG, MP4/MOV files lose their recording location. A refusal becomes a Micropub error by
  `refusal_error`, with the store's reason as `error_description`: 413 for a file over
  `Settings.media_max_bytes` (too-large), 400 for the other kinds (an empty, broken or
  unsupported file, SVG included as it can carry script, or an MP4/MOV whose box tree
  cannot be walked).
* The request is bounded too, before the multipart parser spools it to disk (413): by its
  Content-Length and, for a body that declares none, by counting the bytes as they arrive.
* Tokens are the Micropub endpoint's: a Bearer header or an `access_token` form field,
  not both. Scope `media` or `create`: clients that only ask for `create` upload photos
  before creating the post that shows them, so `create` has to be enough.
* `GET ?q=source` lists recent uploads, newest first (`limit`, default 10, at most 100);
  `GET ?q=last` gives the newest one's URL (https://indieweb.org/Micropub-extensions).
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive

from hearth.micropub.auth import checked_token, verifier_of
from hearth.micropub.cors import allow_browser_clients
from hearth.micropub.errors import (
    InsufficientScope,
    InvalidRequest,
    MicropubError,
    RequestTooLarge,
    Unauthorized,
)
from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import ingest_upload
from hearth.server.core.media.refusals import MediaRefused, RefusalKind
from hearth.server.core.models import Media, Token
from hearth.server.core.settings import Settings
from hearth.server.core.web import settings_of

__all__ = ["media_endpoint_url", "refusal_error", "routes"]

_PATH = "micropub/media"
_ALLOW = "GET, HEAD, OPTIONS, POST"
_SCOPES = frozenset({"media", "create"})
_MAX_LIMIT = 100
# Room for the multipart framing and an access_token field around the file itself.
_FORM_OVERHEAD = 64 * 1024
# The Micropub error answering each kind of media refusal. Files given by URL are only
# fetched by a job, never while a client waits; a failed fetch would be the client's URL: 400.
_REFUSAL_ERRORS: dict[RefusalKind, type[InvalidRequest]] = {
    RefusalKind.TOO_LARGE: RequestTooLarge,
    RefusalKind.UNSUPPORTED: InvalidRequest,
    RefusalKind.UNREADABLE: InvalidRequest,
    RefusalKind.REMOTE_UNAVAILABLE: InvalidRequest,
}


def refusal_error(refusal: MediaRefused) -> InvalidRequest:
    """The Micropub error answering a file the media store refused (413 or 400), with its reason.

    Also what a multipart create answers for its files (`hearth.micropub.uploads`).
    """
    return _REFUSAL_ERRORS[refusal.kind](refusal.reason)


def media_endpoint_url(settings: Settings) -> str:
    """The absolute URL to advertise as `media-endpoint` in the Micropub `q=config`."""
    return settings.absolute(_PATH)


async def endpoint(request: Request) -> Response:
    """`/micropub/media`: POST uploads, GET/HEAD queries, OPTIONS; all errors as JSON."""
    try:
        response = await _dispatch(request, settings_of(request))
    except MicropubError as exc:
        response = JSONResponse(exc.to_json(), status_code=exc.status, headers=_headers(exc))
    if request.method == "HEAD":
        response.body = b""  # the GET answer's headers, Content-Length included
    return response


async def _dispatch(request: Request, settings: Settings) -> Response:
    if request.method == "POST":
        return await _upload(request, settings)
    if request.method in ("GET", "HEAD"):
        return await _query(request, settings)
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": _ALLOW})
    raise InvalidRequest(f"{request.method} is not supported here", status=405)


def _headers(exc: MicropubError) -> dict[str, str]:
    """Headers of an error answer: an RFC 6750 challenge on 401, Allow on 405, Retry-After
    on a 503 (a token that could not be checked just now)."""
    headers = {"Cache-Control": "no-store"}
    if exc.status == 401:
        challenge = f'Bearer error="{exc.error}", scope="{exc.scope}"' if exc.scope else "Bearer"
        headers["WWW-Authenticate"] = challenge
    if exc.status == 405:
        headers["Allow"] = _ALLOW
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return headers


async def _upload(request: Request, settings: Settings) -> Response:
    header_token = _header_token(request)
    if header_token is not None:  # checked before a byte of the body is read
        await _authorize(request, header_token)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise InvalidRequest("send multipart/form-data with one part named file")
    limit = settings.media_max_bytes + _FORM_OVERHEAD
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise RequestTooLarge(f"the request is larger than {limit} bytes")
    limited = Request(request.scope, _limited_receive(request.receive, limit))
    try:
        async with limited.form(max_files=1, max_fields=8, max_part_size=_FORM_OVERHEAD) as form:
            if header_token is None:
                await _authorize(request, _body_token(form))
            elif "access_token" in form:
                raise InvalidRequest("send the access token in the header or the body, not both")
            try:
                media = await ingest_upload(settings, _file_part(form))
            except MediaRefused as exc:
                raise refusal_error(exc) from exc
    except HTTPException as exc:  # starlette's answer to a malformed multipart body
        raise InvalidRequest(f"malformed multipart body: {exc.detail}") from exc
    except ClientDisconnect as exc:
        raise InvalidRequest("the request body ended early") from exc
    url = media_url(settings, media)
    return JSONResponse({"url": url}, status_code=201, headers={"Location": url})


async def _query(request: Request, settings: Settings) -> Response:
    await _authorize(request, _header_token(request))
    newest = Media.all().order_by("-created_at", "-id")
    query = request.query_params.get("q")
    if query == "last":
        last = await newest.first()
        return JSONResponse({"url": media_url(settings, last)} if last else {})
    if query != "source":
        raise InvalidRequest("the media endpoint answers q=source and q=last")
    raw_limit = request.query_params.get("limit", "10")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= _MAX_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 1 to {_MAX_LIMIT}")
    items = [
        {
            "url": media_url(settings, media),
            "published": media.created_at.isoformat(),
            "content_type": media.content_type,
        }
        for media in await newest.limit(int(raw_limit))
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


def _header_token(request: Request) -> str | None:
    """The Bearer token of the Authorization header; None when there is no header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("send the access token as Authorization: Bearer <token>")
    return token.strip()


def _body_token(form: FormData) -> str:
    values = form.getlist("access_token")
    if not values:
        raise Unauthorized("no access token was sent")
    if len(values) > 1 or not isinstance(values[0], str):
        raise InvalidRequest("send one access_token")
    return values[0]


async def _authorize(request: Request, token: str | None) -> Token:
    if token is None:
        raise Unauthorized("no access token was sent")
    # The same pluggable check as the Micropub endpoint (hearth.server.core.tokens unless
    # replaced); 503 when it cannot be made just now.
    row = await checked_token(verifier_of(request.app.state), token)
    if row is None:
        raise Unauthorized("the access token is not valid")
    if not row.scopes & _SCOPES:
        raise InsufficientScope("uploading media needs the media or create scope", scope="media")
    return row


def _file_part(form: FormData) -> UploadFile:
    """The one file, sent in a part named `file` (starlette already refused a second one)."""
    parts = form.getlist("file")
    if len(parts) == 1 and isinstance(parts[0], UploadFile):
        return parts[0]
    if parts:
        raise InvalidRequest("send one part named file, as a file upload (with a filename)")
    other = next((name for name, value in form.multi_items() if isinstance(value, UploadFile)), "")
    if other:
        raise InvalidRequest(f"send the file in a part named file, not {other!r}")
    raise InvalidRequest("no file was sent: send it in a multipart part named file")


def _limited_receive(receive: Receive, limit: int) -> Receive:
    """`receive` refusing a body over `limit` bytes as it arrives, whatever it declared."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise RequestTooLarge(f"the request body is larger than {limit} bytes")
        return message

    return limited


# Every standard method reaches `endpoint`, so even a 405 is a JSON error.
_METHODS = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
routes = [
    Route(f"/{_PATH}", allow_browser_clients(endpoint), methods=_METHODS, name="micropub_media"),
    # Answered in place: Starlette would otherwise redirect it, and the endpoint never does.
    Route(f"/{_PATH}/", allow_browser_clients(endpoint), methods=_METHODS),
]


def body_limits(settings: Settings) -> list[BodyLimit]:
    """An upload's limit (the file and the form around it), declared to the core's backstop."""
    upload = settings.media_max_bytes + _FORM_OVERHEAD
    return [BodyLimit(f"/{_PATH}", _FORM_OVERHEAD, upload, own_check=True)]
