"""The shared page cache: public pages served from rendered bytes, before anything else runs.

Spec: https://www.rfc-editor.org/rfc/rfc9111 (a shared cache: what it may store, Vary, reuse),
conditional requests https://www.rfc-editor.org/rfc/rfc9110#section-13.

`PageCache` is the outermost ASGI middleware of the app. A hit (an anonymous GET or HEAD of a
page it holds, still current) is answered from precomputed ASGI messages: no routing, session,
query, template or hash, and If-None-Match / If-Modified-Since are answered from the stored
validators exactly as `hearth.server.core.caching.conditional` does. Anything else goes on to
the app; if the page offered itself (`caching.share`: home, permalinks, tag pages, the tags
page, short links, feeds) and the request was anonymous, the response is stored.

Anonymous means no `Cookie` and no `Authorization` header. Pages vary by cookie (`Vary:
Cookie`: the owner's and visitors' sessions show them more), so a response stored from a
request without cookies may only be reused for requests without them (RFC 9111 4.1); nor is a
response stored that sets a cookie or says `private` or `no-store`.

An entry is current while the generations of what it shows (`page_generations`: the site's,
and the listings' or its post's) are those read before it was rendered, and until it expires:
a safety TTL, or sooner the next scheduled post's time, when listings show it without any
commit. Entries are bounded by count and bytes, least recently used out first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hearth.server.core import page_changes, timestamps
from hearth.server.core import page_generations as generations
from hearth.server.core.caching import OFFER_KEY, Offer, is_fresh
from hearth.server.core.models import Post
from hearth.server.core.publication import Status
from hearth.server.core.settings import Settings

__all__ = ["PageCache"]

SAFETY_TTL = 300.0
MAX_ENTRIES = 4096
MAX_BYTES = 64 * 1024 * 1024
_STORED_STATUSES = frozenset({200, 301, 410})
_WIDTH = 8
_NEVER = float("inf")


@dataclass(slots=True)
class _Entry:
    start: Message
    body: Message
    empty: Message
    not_modified: Message | None
    etag: str | None
    last_modified: datetime | None
    # (start, end, value) of each counter the page depends on, in the generations map.
    depends: tuple[tuple[int, int, bytes], ...]
    expires: float
    # The next scheduled post's time (epoch seconds, by `timestamps.instant`, the clock
    # scheduled posts are shown by), or infinity.
    appears: float
    size: int


def _counter(snapshot: bytes, scope: int) -> tuple[int, int, bytes]:
    at = scope * _WIDTH
    return at, at + _WIDTH, snapshot[at : at + _WIDTH]


def _entry(offer: Offer, snapshot: bytes, expires: float, appears: float) -> _Entry:
    not_modified = None
    if offer.etag is not None:
        kept = [(k, v) for k, v in offer.headers if k != b"content-length"]
        not_modified = {"type": "http.response.start", "status": 304, "headers": kept}
    scopes = (generations.SITE, offer.scope)
    return _Entry(
        start={"type": "http.response.start", "status": offer.status, "headers": offer.headers},
        body={"type": "http.response.body", "body": offer.body},
        empty={"type": "http.response.body", "body": b""},
        not_modified=not_modified,
        etag=offer.etag,
        last_modified=offer.last_modified,
        depends=tuple(_counter(snapshot, scope) for scope in dict.fromkeys(scopes)),
        expires=expires,
        appears=appears,
        size=len(offer.body) + sum(len(k) + len(v) for k, v in offer.headers),
    )


def _storable(offer: Offer) -> bool:
    if offer.status not in _STORED_STATUSES:
        return False
    for name, value in offer.headers:
        if name == b"set-cookie":
            return False
        if name == b"cache-control" and (b"private" in value or b"no-store" in value):
            return False
    return True


class PageCache:
    """The middleware (see the module docstring); `settings` names the data dir."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
        ttl: float = SAFETY_TTL,
    ) -> None:
        self.app = app
        self.generations = generations.open_generations(settings.data_dir)
        self.max_entries, self.max_bytes, self.ttl = max_entries, max_bytes, ttl
        self.entries: OrderedDict[tuple[str, bytes], _Entry] = OrderedDict()
        self.bytes = 0
        # The next scheduled post's time (epoch seconds), the listings' counter it is for and
        # when it was read (a clock set back, as tests do, must read it again).
        self._appearance: tuple[bytes, float, float] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        anonymous = method == "GET" or method == "HEAD"
        if_none_match = if_modified_since = None
        if anonymous:
            for name, value in scope["headers"]:
                if name == b"cookie" or name == b"authorization":
                    anonymous = False
                    break
                if name == b"if-none-match":
                    if_none_match = value.decode("latin-1")
                elif name == b"if-modified-since":
                    if_modified_since = value.decode("latin-1")
        if not anonymous:
            await self._through(scope, receive, send, None)
            return
        key = (scope["path"], scope["query_string"])
        entry = self.entries.get(key)
        if entry is not None:
            if self._current(entry):
                self.entries.move_to_end(key)
                await self._answer(entry, send, method, if_none_match, if_modified_since)
                return
            self._drop(key)
        snapshot = self.generations.snapshot()
        offer = await self._through(scope, receive, send, snapshot)
        if offer is not None:
            appears = await self._next_appearance(snapshot)
            self._store(key, _entry(offer, snapshot, time.time() + self.ttl, appears))

    def _current(self, entry: _Entry) -> bool:
        counters = self.generations.map
        for start, end, value in entry.depends:
            if counters[start:end] != value:
                return False
        if time.time() >= entry.expires:
            return False
        return entry.appears == _NEVER or timestamps.instant().timestamp() < entry.appears

    async def _answer(
        self, entry: _Entry, send: Send, method: str, inm: str | None, ims: str | None
    ) -> None:
        if entry.not_modified is not None and (inm is not None or ims is not None):
            assert entry.etag is not None  # noqa: S101 - an entry with a 304 has its ETag
            if is_fresh(entry.etag, entry.last_modified, inm, ims):
                await send(entry.not_modified)
                await send(entry.empty)
                return
        await send(entry.start)
        await send(entry.empty if method == "HEAD" else entry.body)

    async def _through(
        self, scope: Scope, receive: Receive, send: Send, snapshot: bytes | None
    ) -> Offer | None:
        """Run the app in a unit of work, bumped once the response starts (its changes are
        committed by then); the page's offer if it may be stored."""
        status = 0
        with page_changes.unit(self.generations) as work:

            async def watch(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    work.flush()
                await send(message)

            await self.app(scope, receive, watch)
        offer: Offer | None = scope.get(OFFER_KEY)
        if snapshot is None or offer is None or status not in (offer.status, 304):
            return None
        return offer if _storable(offer) else None

    async def _next_appearance(self, snapshot: bytes) -> float:
        """The next scheduled post's time: listings show it then, with no commit to bump.
        Read once per listings generation (a post's change is what may schedule one)."""
        now = timestamps.instant()
        at = now.timestamp()
        listings = _counter(snapshot, generations.LISTINGS)[2]
        known = self._appearance
        if known is None or known[0] != listings or not known[1] <= at < known[2]:
            later = Post.filter(status=Status.PUBLISHED, published__gt=now)
            upcoming: Any = (
                await later.order_by("published").first().values_list("published", flat=True)
            )
            known = (listings, at, upcoming.timestamp() if upcoming else _NEVER)
            self._appearance = known
        return known[2]

    def _store(self, key: tuple[str, bytes], entry: _Entry) -> None:
        if entry.size > self.max_bytes // 16:
            return  # one page may not push out a sixteenth of the cache
        self._drop(key)
        self.entries[key] = entry
        self.bytes += entry.size
        while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple[str, bytes]) -> None:
        gone = self.entries.pop(key, None)
        if gone is not None:
            self.bytes -= gone.size
