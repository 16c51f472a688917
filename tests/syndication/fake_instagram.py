"""A fake Instagram Platform API (Instagram API with Instagram Login) for tests and demos.

Built from the documented shapes in shared/reference/instagram.md: tokens and the OAuth code
exchange (§1.2), media fields with `fields=` expansion (§1.3), carousel children (§1.4),
`/me/media` with cursor paging (§1.5), comments, replies, create and delete (§1.6), webhook
payloads signed like Meta's (§1.9), the error object (§1.10) and usage headers (§1.11). Media
files are served from a fake CDN at `/cdn/`. Any leading `/vNN.N` version segment is ignored.

Run it: `python -m tests.syndication.fake_instagram --port 8910` (seeds demo media).
In tests: `with serve_instagram() as fake: ...` runs it with uvicorn in a background thread.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import io
import itertools
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

# A minimal MP4: an `ftyp` box and an empty `mdat` box (ISO/IEC 14496-12), enough to sniff.
MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08mdat"
LONG_LIVED_SECONDS = 5183944  # the documented example's expires_in (§1.2)
_VERSION = re.compile(r"^/v\d+(\.\d+)?(?=/)")


@dataclass
class FakeMedia:
    id: str
    media_type: str  # IMAGE, VIDEO or CAROUSEL_ALBUM (§1.3)
    media_product_type: str = "FEED"
    caption: str | None = None
    timestamp: str = ""
    shortcode: str = ""
    like_count: int = 0
    alt_text: str | None = None
    children: list[FakeMedia] = field(default_factory=list)
    is_child: bool = False


@dataclass
class FakeComment:
    id: str
    media_id: str
    text: str
    username: str
    from_id: str
    timestamp: str
    parent_id: str | None = None
    like_count: int = 0
    hidden: bool = False


@dataclass
class Failure:
    status: int
    code: int | None
    subcode: int | None
    retry_after: int | None


def parse_fields(spec: str) -> dict[str, Any]:
    """`id,children{id,media_type}` -> {"id": None, "children": {"id": None, ...}} (§1.4)."""
    return _parse_fields(spec, 0)[0]


def _parse_fields(spec: str, i: int) -> tuple[dict[str, Any], int]:
    fields: dict[str, Any] = {}
    name = ""
    while i < len(spec):
        char, i = spec[i], i + 1
        if char == "{":
            fields[name.strip()], i = _parse_fields(spec, i)
            name = ""
        elif char in ",}":
            if name.strip():
                fields[name.strip()] = None
            name = ""
            if char == "}":
                return fields, i
        else:
            name += char
    if name.strip():
        fields[name.strip()] = None
    return fields, i


def _timestamp(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def jpeg_bytes(seed: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small real JPEG whose colour depends on `seed`."""
    digest = hashlib.sha256(seed.encode()).digest()
    buffer = io.BytesIO()
    Image.new("RGB", size, (digest[0], digest[1], digest[2])).save(buffer, "JPEG")
    return buffer.getvalue()


class FakeInstagram:
    """In-memory state of one professional account, its media and comments, plus switches."""

    def __init__(self, base: str, *, app_id: str = "990602627938098") -> None:
        self.base = base.rstrip("/") + "/"
        self.app_id = app_id
        self.app_secret = secrets.token_hex(16)
        self.user_id = "17841400000000001"
        self.username = "hearth_owner"
        self.token = "IGAA" + secrets.token_urlsafe(24)
        self.tokens = {self.token}
        self.short_tokens: set[str] = set()
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.media: list[FakeMedia] = []  # newest first
        self.comments: dict[str, FakeComment] = {}
        self.failures: list[Failure] = []
        self.usage_percent: float | None = None
        self.regain_minutes = 0
        self.flat_oauth_response = False
        self.deny_next_authorization = False  # the owner presses "Cancel" on /oauth/authorize
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API call
        self._ids = itertools.count(17900000000000001)
        # hold_downloads(): `/cdn/` answers wait until released; `download_held` says one waits.
        self._downloads_open = threading.Event()
        self._downloads_open.set()
        self.download_held = threading.Event()

    # Test controls -------------------------------------------------------------------------

    def add_media(
        self,
        media_type: str = "IMAGE",
        *,
        caption: str | None = None,
        children: tuple[str, ...] = (),
        product: str | None = None,
        alt_text: str | None = None,
        like_count: int = 0,
        when: datetime | None = None,
    ) -> str:
        """Post a media "in the app"; `children` lists a carousel's item types. Returns its id."""
        item = FakeMedia(
            id=self._next_id(), media_type=media_type, caption=caption, alt_text=alt_text,
            media_product_type=product or ("REELS" if media_type == "VIDEO" else "FEED"),
            timestamp=_timestamp(when), like_count=like_count,
            shortcode=base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("="),
        )  # fmt: skip
        for kind in children:
            item.children.append(
                FakeMedia(self._next_id(), kind, timestamp=item.timestamp, is_child=True)
            )
        self.media.insert(0, item)
        return item.id

    def add_comment(
        self, media_id: str, text: str, *, username: str = "friend", parent_id: str | None = None
    ) -> str:
        """Someone comments (or replies, with `parent_id`) on a media. Returns the comment id."""
        from_id = str(int(hashlib.sha256(username.encode()).hexdigest()[:12], 16))
        comment = FakeComment(
            self._next_id(), media_id, text, username, from_id, _timestamp(), parent_id
        )
        self.comments[comment.id] = comment
        return comment.id

    def edit_comment(self, comment_id: str, text: str) -> None:
        self.comments[comment_id].text = text

    def delete_comment(self, comment_id: str) -> None:
        for reply in [c.id for c in self.comments.values() if c.parent_id == comment_id]:
            del self.comments[reply]
        del self.comments[comment_id]

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        error_code: int | None = None,
        subcode: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `n` API calls fail with `status` and (if given) Meta error `code`."""
        self.failures += [Failure(status, error_code, subcode, retry_after) for _ in range(n)]

    def set_usage(self, percent: float | None, *, regain_minutes: int = 0) -> None:
        """Send usage headers at `percent` (None: none) on every API response (§1.11)."""
        self.usage_percent, self.regain_minutes = percent, regain_minutes

    def hold_downloads(self) -> None:
        """Make `/cdn/` requests wait (e.g. to kill the poller mid-copy) until released."""
        self.download_held.clear()
        self._downloads_open.clear()

    def release_downloads(self) -> None:
        self._downloads_open.set()

    def expire_token(self) -> None:
        """Every token stops working with code 190, subcode 463 (expired)."""
        self.tokens.clear()

    def new_code(self, redirect_uri: str) -> str:
        """An authorization code, as the authorize redirect would carry it (§1.2)."""
        code = "AQB" + secrets.token_urlsafe(16)
        self.codes[code] = redirect_uri
        return code

    def webhook_payload(self, comment_id: str, *, shape: str = "changes") -> Any:
        """A `comments` notification for a comment, as `changes` or the flat shape (§1.9)."""
        comment = self.comments[comment_id]
        value: dict[str, Any] = {
            "id": comment.id,
            "from": {"id": comment.from_id, "username": comment.username},
            "text": comment.text,
            "media": {"id": comment.media_id, "media_product_type": "FEED"},
        }
        if comment.parent_id:
            value["parent_id"] = comment.parent_id
        entry: dict[str, Any] = {"id": self.user_id, "time": int(time.time())}
        if shape == "changes":
            entry["changes"] = [{"field": "comments", "value": value}]
            return {"object": "instagram", "entry": [entry]}
        return [{"object": "instagram", "entry": [{**entry, "field": "comments", "value": value}]}]

    def signed_webhook(self, payload: Any) -> tuple[bytes, str]:
        """The raw body and its `X-Hub-Signature-256` header, signed with the app secret (§1.9)."""
        body = orjson.dumps(payload)
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, f"sha256={digest}"

    def _next_id(self) -> str:
        return str(next(self._ids))

    # The API ----------------------------------------------------------------------------------

    def app(self) -> Any:
        routes = [
            Route("/oauth/authorize", self.authorize),
            Route("/oauth/access_token", self.oauth_token, methods=["POST"]),
            Route("/access_token", self.exchange_token),
            Route("/refresh_access_token", self.refresh_token),
            Route("/cdn/{name}", self.cdn),
            Route("/p/{shortcode}/", self.permalink_page),
            Route("/me", self.me),
            Route("/{node}/{edge}", self.edge, methods=["GET", "POST"]),
            Route("/{node}", self.node, methods=["GET", "POST", "DELETE"]),
        ]
        inner = Starlette(routes=routes)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                scope = {**scope, "path": _VERSION.sub("", scope["path"])}
                self.requests.append((scope["method"], scope["path"]))
            await inner(scope, receive, send)

        return app

    # Plumbing: failures, tokens, errors and usage headers ------------------------------------

    def _headers(self) -> dict[str, str]:
        if self.usage_percent is None:
            return {}
        usage = {"call_count": self.usage_percent, "total_time": 1, "total_cputime": 1}
        buc = {**usage, "type": "instagram", "estimated_time_to_regain_access": 0}
        buc["estimated_time_to_regain_access"] = self.regain_minutes
        return {
            "X-App-Usage": orjson.dumps(usage).decode(),
            "X-Business-Use-Case-Usage": orjson.dumps({self.user_id: [buc]}).decode(),
        }

    def _json(self, data: Any, status: int = 200) -> Response:
        return JSONResponse(data, status_code=status, headers=self._headers())

    def _error(
        self, status: int, code: int, message: str, *, subcode: int | None = None, **extra: Any
    ) -> Response:
        """Meta's error object (§1.10)."""
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
        if subcode:
            error["error_subcode"] = subcode
        error |= {"fbtrace_id": secrets.token_urlsafe(9), **extra}
        headers = self._headers()
        if extra.get("retry_after"):
            headers["Retry-After"] = str(error.pop("retry_after"))
        return JSONResponse({"error": error}, status_code=status, headers=headers)

    def _injected(self) -> Response | None:
        if not self.failures:
            return None
        failure = self.failures.pop(0)
        code = failure.code
        if code is None:
            code = 4 if failure.status == 429 else 2
        if code in (4, 17, 32, 613, 80002):
            message = f"({code}) Application request limit reached"
        else:
            message = "An unexpected error has occurred. Please retry your request later."
        transient = {"is_transient": True} if failure.status >= 500 else {}
        return self._error(
            failure.status, code, message, subcode=failure.subcode,
            retry_after=failure.retry_after, **transient,
        )  # fmt: skip

    async def _params(self, request: Request) -> dict[str, str]:
        params = dict(request.query_params)
        if request.method == "POST":
            params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return params

    async def _guard(self, request: Request) -> tuple[dict[str, str], Response | None]:
        """The call's parameters, or the injected failure or token error to answer with."""
        params = await self._params(request)
        injected = self._injected()
        if injected is not None:
            return params, injected
        token = params.get("access_token", "")
        if token not in self.tokens:
            message = "Error validating access token: Session has expired"
            if not token:
                message = "An active access token must be used to query information"
            return params, self._error(400, 190, message, subcode=463 if token else None)
        return params, None

    # Rendering nodes with field expansion (§1.3, §1.4, §1.6) ---------------------------------

    def _media_by_id(self, media_id: str) -> FakeMedia | None:
        for item in self.media:
            if item.id == media_id:
                return item
            for child in item.children:
                if child.id == media_id:
                    return child
        return None

    def _media_fields(self, item: FakeMedia) -> dict[str, Any]:
        ext = "mp4" if item.media_type == "VIDEO" else "jpg"
        data: dict[str, Any] = {
            "id": item.id, "media_type": item.media_type, "timestamp": item.timestamp,
            "media_url": f"{self.base}cdn/{item.id}.{ext}", "username": self.username,
            "owner": {"id": self.user_id},
        }  # fmt: skip
        if item.media_type == "VIDEO":  # "Only available on VIDEO media."
            data["thumbnail_url"] = f"{self.base}cdn/{item.id}.jpg"
        if item.is_child:  # children have no caption, permalink or counts
            return data | ({"alt_text": item.alt_text} if item.alt_text else {})
        data |= {
            "media_product_type": item.media_product_type, "shortcode": item.shortcode,
            "permalink": f"{self.base}p/{item.shortcode}/", "like_count": item.like_count,
            "comments_count": sum(c.media_id == item.id for c in self.comments.values()),
            "is_comment_enabled": True,
        }  # fmt: skip
        data |= {"caption": item.caption} if item.caption is not None else {}
        data |= {"alt_text": item.alt_text} if item.alt_text else {}
        data["children"] = [self._media_fields(child) for child in item.children]
        data["comments"] = [self._comment_fields(c) for c in self._comments_of(item.id)]
        return data

    def _comment_fields(self, comment: FakeComment) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": comment.id, "text": comment.text, "timestamp": comment.timestamp,
            "username": comment.username, "like_count": comment.like_count,
            "from": {"id": comment.from_id, "username": comment.username},
            "hidden": comment.hidden, "media": {"id": comment.media_id},
        }  # fmt: skip
        if comment.parent_id:
            data["parent_id"] = comment.parent_id
        else:
            data["replies"] = [self._comment_fields(c) for c in self._replies_of(comment.id)]
        return data

    def _comments_of(self, media_id: str) -> list[FakeComment]:
        # "reverse chronological order" and "Returns only top-level comments" (§1.6).
        found = [c for c in self.comments.values() if c.media_id == media_id and not c.parent_id]
        return sorted(found, key=lambda c: int(c.id), reverse=True)

    def _replies_of(self, comment_id: str) -> list[FakeComment]:
        return sorted(
            (c for c in self.comments.values() if c.parent_id == comment_id),
            key=lambda c: int(c.id),
        )

    def _select(self, data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """Only the requested fields; edges (lists) expand as `{"data": [...]}`."""
        selected: dict[str, Any] = {}
        for name, sub in fields.items():
            if name not in data:
                continue
            value = data[name]
            if isinstance(value, list):
                value = {"data": [self._select(v, sub or {"id": None}) for v in value]}
            selected[name] = value
        return selected

    def _page(
        self, request: Request, params: dict[str, str], items: list[dict[str, Any]], limit: int
    ) -> Response:
        """A page of `items` with `paging.cursors` and, unless last, `paging.next` (§1.5)."""
        ids = [item["id"] for item in items]
        after = params.get("after")
        if after:
            decoded = base64.urlsafe_b64decode(after.encode()).decode()
            if decoded not in ids:
                return self._error(400, 100, "Invalid cursor", subcode=None)
            items = items[ids.index(decoded) + 1 :]
        limit = max(1, min(int(params.get("limit") or limit), 100))
        page = items[:limit]
        fields = parse_fields(params.get("fields") or "id")
        body: dict[str, Any] = {"data": [self._select(item, fields) for item in page]}
        if page:
            cursor = lambda item: base64.urlsafe_b64encode(item["id"].encode()).decode()  # noqa: E731
            body["paging"] = {"cursors": {"before": cursor(page[0]), "after": cursor(page[-1])}}
            if len(items) > limit:
                query = {**params, "after": body["paging"]["cursors"]["after"]}
                url = request.url.replace(query=None)
                body["paging"]["next"] = str(url.include_query_params(**query))
        return self._json(body)

    # Endpoints --------------------------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        params, refusal = await self._guard(request)
        if refusal:
            return refusal
        data = {
            "id": self.user_id, "user_id": self.user_id, "username": self.username,
            "account_type": "BUSINESS", "media_count": len(self.media),
        }  # fmt: skip
        return self._json(self._select(data, parse_fields(params.get("fields") or "id")))

    async def node(self, request: Request) -> Response:
        params, refusal = await self._guard(request)
        if refusal:
            return refusal
        node_id = request.path_params["node"]
        fields = parse_fields(params.get("fields") or "id")
        comment = self.comments.get(node_id)
        if request.method == "DELETE" and comment is not None:
            self.delete_comment(node_id)
            return self._json({"success": True})
        if request.method == "DELETE":  # media deletion is Facebook Login only (§1.3)
            return self._error(400, -1, "Fatal", subcode=2207073, is_transient=False)
        media = self._media_by_id(node_id)
        if request.method == "GET" and media is not None:
            return self._json(self._select(self._media_fields(media), fields))
        if request.method == "GET" and comment is not None:
            return self._json(self._select(self._comment_fields(comment), fields))
        message = f"Unsupported {request.method} request. Object with ID '{node_id}' does not exist"
        return self._error(400, 100, message, subcode=33)

    async def edge(self, request: Request) -> Response:
        params, refusal = await self._guard(request)
        if refusal:
            return refusal
        node_id, edge = request.path_params["node"], request.path_params["edge"]
        media = self._media_by_id(node_id) if node_id != "me" else None
        comment = self.comments.get(node_id)
        if node_id in ("me", self.user_id) and edge == "media" and request.method == "GET":
            since = int(params.get("since") or 0)
            items = [self._media_fields(m) for m in self.media]
            items = [m for m in items if _unix(m["timestamp"]) >= since]
            return self._page(request, params, items, 25)
        if media is not None and edge == "children" and request.method == "GET":
            return self._page(request, params, self._media_fields(media)["children"], 100)
        if media is not None and edge == "comments":
            if request.method == "POST":
                return self._own_comment(media.id, None, params)
            items = [self._comment_fields(c) for c in self._comments_of(media.id)]
            return self._page(request, params, items, 50)
        if comment is not None and edge == "replies":
            if request.method == "POST":  # "You can only reply to top-level comments."
                return self._own_comment(comment.media_id, comment.id, params)
            items = [self._comment_fields(c) for c in self._replies_of(comment.id)]
            return self._page(request, params, items, 50)
        return self._error(400, 100, f"Unknown path components: /{node_id}/{edge}", subcode=33)

    def _own_comment(
        self, media_id: str, parent_id: str | None, params: dict[str, str]
    ) -> Response:
        """The owner comments through the API: the author is the account itself (§1.6)."""
        if not params.get("message"):
            return self._error(400, 100, "(#100) The parameter message is required")
        comment_id = self.add_comment(
            media_id, params["message"], username=self.username, parent_id=parent_id
        )
        self.comments[comment_id].from_id = self.user_id
        return self._json({"id": comment_id})

    async def authorize(self, request: Request) -> Response:
        """GET www.instagram.com/oauth/authorize: the owner allows at once (or cancels) (§1.2).

        Redirects to `redirect_uri?code=...&state=...#_`, or, once `deny_next_authorization`
        is set, with the documented `error=access_denied` parameters instead.
        """
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        if (
            params.get("client_id") != self.app_id
            or params.get("response_type") != "code"
            or not redirect_uri.startswith(("http://", "https://"))
        ):
            return HTMLResponse("<h1>Invalid request: check client_id and redirect_uri</h1>", 400)
        state = {"state": params["state"]} if "state" in params else {}
        if self.deny_next_authorization:
            self.deny_next_authorization = False
            query = {"error": "access_denied", "error_reason": "user_denied"}
            query |= {"error_description": "The user denied your request", **state}
            return Response(
                status_code=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"}
            )
        query = {"code": self.new_code(redirect_uri), **state}
        return Response(
            status_code=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}#_"}
        )

    async def oauth_token(self, request: Request) -> Response:
        """POST api.instagram.com/oauth/access_token: code -> short-lived token (§1.2)."""
        form = await self._params(request)
        code = form.get("code", "")
        valid = (
            form.get("client_id") == self.app_id
            and form.get("client_secret") == self.app_secret
            and form.get("grant_type") == "authorization_code"
            and self.codes.get(code) == form.get("redirect_uri")
        )
        if not valid:
            error = "Matching code was not found or was already used"
            body = {"error_type": "OAuthException", "code": 400, "error_message": error}
            return JSONResponse(body, status_code=400)
        del self.codes[code]
        token = "IGQ" + secrets.token_urlsafe(24)
        self.short_tokens.add(token)
        permissions = "instagram_business_basic,instagram_business_manage_comments"
        data = {"access_token": token, "user_id": self.user_id, "permissions": permissions}
        return JSONResponse(data if self.flat_oauth_response else {"data": [data]})

    async def exchange_token(self, request: Request) -> Response:
        """GET /access_token?grant_type=ig_exchange_token: short-lived -> 60 days (§1.2)."""
        params = await self._params(request)
        if params.get("client_secret") != self.app_secret:
            return self._error(400, 101, "Error validating client secret.")
        if params.get("access_token") not in self.short_tokens:
            return self._error(400, 190, "Invalid OAuth access token.", subcode=467)
        self.short_tokens.discard(params["access_token"])
        return self._new_long_lived()

    async def refresh_token(self, request: Request) -> Response:
        """GET /refresh_access_token?grant_type=ig_refresh_token (§1.2)."""
        params, refusal = await self._guard(request)
        if refusal:
            return refusal
        if params.get("grant_type") != "ig_refresh_token":
            return self._error(400, 100, "Unsupported grant_type")
        return self._new_long_lived()

    def _new_long_lived(self) -> Response:
        self.token = "IGAA" + secrets.token_urlsafe(24)
        self.tokens.add(self.token)
        data = {"access_token": self.token, "token_type": "bearer"}
        return self._json(data | {"expires_in": LONG_LIVED_SECONDS})

    async def cdn(self, request: Request) -> Response:
        """The media files: a small JPEG for images and thumbnails, a tiny MP4 for videos."""
        name = request.path_params["name"]
        media_id, _, ext = name.partition(".")
        if self._media_by_id(media_id) is None or ext not in ("jpg", "mp4"):
            return Response(status_code=404)
        while not self._downloads_open.is_set():
            # Polled, not awaited in a thread: the server's event loop keeps answering the API.
            self.download_held.set()
            await asyncio.sleep(0.02)
        if ext == "mp4":
            return Response(MP4_BYTES, media_type="video/mp4")
        return Response(jpeg_bytes(media_id), media_type="image/jpeg")

    async def permalink_page(self, request: Request) -> Response:
        shortcode = request.path_params["shortcode"]
        for item in self.media:
            if item.shortcode == shortcode:
                caption = (item.caption or "").replace("<", "&lt;")
                return HTMLResponse(f"<h1>@{self.username}</h1><p>{caption}</p>")
        return Response(status_code=404)


def _unix(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


@contextmanager
def serve_instagram() -> Iterator[FakeInstagram]:
    """Run a FakeInstagram with uvicorn on a free 127.0.0.1 port in a background thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    fake = FakeInstagram(f"http://127.0.0.1:{sock.getsockname()[1]}/")
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def seed_demo(fake: FakeInstagram) -> None:
    """A photo, a carousel and a reel with a comment and a reply, for trying things by hand."""
    photo = fake.add_media("IMAGE", caption="Morning light #sunrise with @friend", alt_text="Sun")
    fake.add_media("CAROUSEL_ALBUM", caption="Three from the walk", children=("IMAGE",) * 2)
    fake.add_media("VIDEO", caption="Waves #sea")
    comment = fake.add_comment(photo, "Beautiful!", username="friend")
    fake.add_comment(photo, "Thanks!", username=fake.username, parent_id=comment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8910)
    args = parser.parse_args()
    fake = FakeInstagram(f"http://{args.host}:{args.port}/")
    seed_demo(fake)
    print(f"Fake Instagram API at {fake.base} (account @{fake.username}, id {fake.user_id})")
    print(f"  HEARTH_INSTAGRAM_API_URL={fake.base.rstrip('/')}")
    print("  HEARTH_ALLOW_PRIVATE_NETWORKS=127.0.0.1/32")
    print(f"  HEARTH_INSTAGRAM_APP_ID={fake.app_id}")
    print(f"  HEARTH_INSTAGRAM_APP_SECRET={fake.app_secret}")
    print(f"  access token: {fake.token}")
    print("Serves /me, /me/media, /{id}, /{id}/children, /{id}/comments, /{id}/replies,")
    print("  /access_token, /refresh_access_token, /oauth/authorize, /oauth/access_token,")
    print("  /cdn/{id}.jpg|mp4")
    uvicorn.run(fake.app(), host=args.host, port=args.port, log_level="info", lifespan="off")


if __name__ == "__main__":
    main()
