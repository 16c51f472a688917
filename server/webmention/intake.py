"""Storing a received webmention: the target's post, the response row and its verification
job, in one transaction that costs one trip to the database.

Spec: https://www.w3.org/TR/webmention/#receiving-webmentions (§3.2: "the receiver SHOULD
queue and process the request asynchronously"; §3.2.4: a re-send is an update).

The endpoint (`receive`) validates the form first; what needs the database is here, as one
`core.one_trip` unit, in the order the endpoint answers: the target must be a post of this
site with a page (by permalink, former permalink or short link) that is not deleted (400),
the verification queue must not be full (503), the sender within its limits (429); then the
row for (source, target) is created, or reset if it was sent before, and a verification job
queued. Issue #14 asked for the least work on this path: one trip instead of the ten or so
Tortoise statements this took, and the queue's size read at most once a second.

A pending response shows on no page, and a re-sent one stays as it was shown until its new
verification settles it, so storing one changes no cached page.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from hearth.server.core import job_queue, one_trip
from hearth.server.core.models import InteractionState, Job, JobState
from hearth.server.core.newbase60 import normalize as normalize_code
from hearth.server.core.rate_limits import SlidingWindow
from hearth.server.core.timestamps import instant
from hearth.server.webmention import verify
from hearth.server.webmention.moderation import domain_of

RESENT_REASON = "sent again: the new version is being verified, the last one stays shown until then"
# How long a sender is asked to wait while the verification queue is full.
QUEUE_FULL_RETRY_AFTER = 60
ALL_HOSTS = ""  # the overall limit's key
# How often the size of the verification queue is read again (see `QueueGauge`).
QUEUE_READ_INTERVAL = 1.0


class BadRequest(Exception):
    """The sender's fault (§3.2.3): answered 400 with this message."""

    status_code = 400
    retry_after: int | None = None


class TryLater(BadRequest):
    """Too many webmentions now: 429 (a limit) or 503 (the queue is full), `Retry-After`."""

    def __init__(self, message: str, status_code: int, retry_after: int) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class Limits:
    """One app's limits: per source host and overall (a minute's sliding window each).

    Checked inside the storing unit, which on SQLite runs on the database thread while the
    event loop may check for another request: hence the lock.
    """

    def __init__(self, per_host: int, overall: int) -> None:
        self.per_host = SlidingWindow(per_host)
        self.overall = SlidingWindow(overall)
        self._lock = threading.Lock()

    def check(self, host: str) -> None:
        """Count a webmention from `host`, or raise TryLater (counting nothing)."""
        with self._lock:
            wait = max(self.per_host.wait(host), self.overall.wait(ALL_HOSTS))
            if wait:
                raise TryLater("too many webmentions: try again later", 429, wait)
            self.per_host.hit(host)
            self.overall.hit(ALL_HOSTS)


class QueueGauge:
    """How many verifications wait, for the 503: counted in the database at most once a
    `QUEUE_READ_INTERVAL`, this process's own additions counted meanwhile.

    Counting on every request cost a scan of the waiting jobs each time, the most under a
    burst, when it matters least to be exact: the cap keeps a flood from piling up work,
    and one second's worth beyond it is harmless.
    """

    def __init__(self) -> None:
        self.waiting = 0
        self._read_at = -math.inf

    async def full(self, max_queued: int) -> bool:
        if time.monotonic() - self._read_at >= QUEUE_READ_INTERVAL:
            # Marked read first: the requests arriving during the count use the last one.
            self._read_at = time.monotonic()
            queued = Job.filter(kind=verify.KIND, state=JobState.QUEUED)
            self.waiting = await queued.count()
        return self.waiting >= max_queued

    def added(self) -> None:
        self.waiting += 1


@dataclass(frozen=True)
class Mention:
    """A valid webmention to store: its URLs (the target normalized), the target's path on
    this site (relative to the site's root, not empty) and the source's host."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class Stored:
    response_id: int
    status_token: str


# Whether the post has a page anyone may see (`Post.has_page`) and is not deleted.
_POST_COLUMNS = (
    "p.id AS id, p.deleted_at IS NOT NULL AS deleted,"
    " (p.status = 'published' AND p.visibility <> 'private' AND p.published <= ?) AS has_page"
)


def _target_post(path: str, now: datetime) -> one_trip.Unit[int]:
    """The id of the post whose page `path` is, or BadRequest."""
    rows: one_trip.Rows = ()
    if path.startswith("s/") and path.count("/") == 1:
        code = path[2:]
        by_code = f"SELECT {_POST_COLUMNS} FROM posts p WHERE p.short_code = ?"  # noqa: S608
        rows = yield by_code, (now, code)
        if not rows and code:
            rows = yield by_code, (now, code[:1] + normalize_code(code[1:]))
    elif path.count("/") == 2:
        rows = yield f"SELECT {_POST_COLUMNS} FROM posts p WHERE p.path = ?", (now, path)  # noqa: S608
        if not rows:
            moved = (
                f"SELECT {_POST_COLUMNS} FROM path_redirects r"  # noqa: S608
                " JOIN posts p ON p.id = r.post_id WHERE r.path = ?"
            )
            rows = yield moved, (now, path)
    if not rows or not rows[0]["has_page"]:
        raise BadRequest("target is not a post of this site")
    if rows[0]["deleted"]:
        raise BadRequest("target is a deleted post")
    return int(rows[0]["id"])


_UPSERT = (
    "INSERT INTO responses (origin, source, target, source_target_hash, post_id, state,"
    " approval, status_token, domain, kind, created_at, updated_at)"
    " VALUES ('webmention', ?, ?, ?, ?, ?, 'waiting', ?, ?, 'mention', ?, ?)"
    " ON CONFLICT (source_target_hash) DO UPDATE SET post_id = excluded.post_id,"
    # §3.2.4: a re-send. One that is shown stays shown until the new verification settles
    # it (a reply is not hidden just because its author edited it); any other starts over.
    # Every expression here reads the row as it was.
    " reason = CASE WHEN responses.state = ? THEN ? ELSE NULL END,"
    " state = CASE WHEN responses.state = ? THEN responses.state ELSE ? END,"
    " updated_at = excluded.updated_at"
    " RETURNING id, status_token"
)


def store(mention: Mention, queue_full: bool, limits: Limits) -> one_trip.Unit[Stored]:
    """The unit: check the target, the queue and the limits, store, queue the verification."""
    now = instant()
    post_id = yield from _target_post(mention.path, now)
    if queue_full:
        raise TryLater(
            "too many webmentions are waiting to be verified: try again later",
            503,
            QUEUE_FULL_RETRY_AFTER,
        )
    domain = domain_of(mention.source)
    limits.check(domain)
    digest = hashlib.sha256(f"{mention.source}\n{mention.target}".encode()).hexdigest()
    accepted, pending = InteractionState.ACCEPTED.value, InteractionState.PENDING.value
    values = (
        mention.source, mention.target, digest, post_id, pending,
        secrets.token_urlsafe(24), domain, now, now,
        accepted, RESENT_REASON, accepted, pending,
    )  # fmt: skip
    (row,) = yield _UPSERT, values
    response_id = int(row["id"])
    yield job_queue.insert_statement(
        verify.KIND,
        {"response_id": response_id},
        key=verify.job_key(response_id),
        now=now,
        max_attempts=verify.MAX_ATTEMPTS,
    )
    return Stored(response_id, str(row["status_token"]))
