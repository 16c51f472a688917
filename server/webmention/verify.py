"""The verification job: fetch a webmention's source, check its link, store what it says.

Spec: https://www.w3.org/TR/webmention/#webmention-verification and
https://www.w3.org/TR/webmention/#updating-existing-webmentions; limits from
https://www.w3.org/TR/webmention/#security-considerations.

The source is fetched through the guarded client (public addresses only, redirects
followed up to `Settings.http_max_redirects`) within `SOURCE_TIMEOUT` seconds and
`SOURCE_MAX_BYTES`. Then, for the `Interaction` row:

* a link to the target (`response_fields.Document.links_to`) -> ACCEPTED, fields from the
  mf2 (`response_fields.response_fields`), the author photo copied here (`photos`), approval
  from `moderation`, duplicates regrouped;
* no link, or 410 Gone, or 404 on the last attempt -> DELETED if it was accepted before
  (the response is removed from the page), else REJECTED;
* network errors, timeouts, 404 before the last attempt, 429 and 5xx -> `job_queue.Retry`
  (the row stays PENDING, the reason says why); on the last attempt REJECTED;
* anything else the sender must fix (blocked address, a malformed URL, too big, too many
  redirects, an unreadable type, other statuses) -> REJECTED with the reason, shown on the
  status page.

The reason is public (the status page), so it is one of a fixed set of plain sentences
(`UNREACHABLE`, `TOO_SLOW`, ...): the network error itself (refused, reset, a TLS failure),
which would make the status page a port scanner, only reaches the job's error (the admin's
jobs page) and the log.

Moderation follows where the content came from: the domain rules are checked for the
submitted source before fetching, and for the final URL after redirects; a block on either
rejects, and the row's `domain` becomes the final URL's, which "known" and allow rules judge.

Politeness: one worker fetches a source host at most once every
`WebmentionSettings.fetch_interval` seconds (`rate_limit.HostSpacing`, per HTTP client, so
per worker process): a job waits for a slot that is at most that far away, and postpones
itself (`job_queue.Postpone`, not counted as an attempt) when the host is booked further
(or more than `MAX_HOST_WAIT` seconds ahead).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from datetime import UTC, datetime
from typing import Any, NoReturn

import httpx

from hearth.server.core import job_queue
from hearth.server.core.http import (
    BlockedAddressError,
    MalformedURLError,
    ResponseTooLarge,
    check_url,
    fetch,
    retry_after_seconds,
)
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.mf2 import normalize_url
from hearth.server.core.models import Interaction, InteractionState, Post
from hearth.server.core.settings import Settings
from hearth.server.webmention import moderation, response_fields
from hearth.server.webmention.photos import cached_photo
from hearth.server.webmention.rate_limit import HostSpacing
from hearth.server.webmention.webmention_settings import webmention_settings

log = logging.getLogger(__name__)

KIND = "webmention.verify"
MAX_ATTEMPTS = 5
SOURCE_TIMEOUT = 15.0
SOURCE_MAX_BYTES = 1024 * 1024
ACCEPT = (
    "text/html, application/xhtml+xml, application/mf2+json;q=0.9, application/json;q=0.8,"
    " text/plain;q=0.5"
)
INTERNAL_ERROR = "this site failed to verify it (its error, not the sender's)"
# The public reasons for network failures: what happened, never the error itself.
UNREACHABLE = "the source could not be reached"
TOO_SLOW = "the source took too long to answer"
NOT_PUBLIC = "the source (or a redirect) is not an http(s) URL on a public address"
MALFORMED = "the source (or a redirect) is not a valid URL"
BAD_ANSWER = "the source's answer could not be read"
RETRY_PREFIX = "will try again: "
BAD_LOCATION = "Invalid URL in location header"
# Longest a job waits in place for its host's slot; a later slot postpones the job instead.
MAX_HOST_WAIT = 2.0
# Each worker's bookings of source hosts, by its HTTP client.
_spacing: weakref.WeakKeyDictionary[httpx.AsyncClient, HostSpacing] = weakref.WeakKeyDictionary()
# Columns that hold URLs from the source are this long; longer URLs are dropped.
MAX_URL = 2048


class Unverified(Exception):
    """Verification ended for good without an accepted response."""

    def __init__(self, state: InteractionState, reason: str) -> None:
        super().__init__(reason)
        self.state = state
        self.reason = reason


async def schedule(response: Interaction) -> None:
    """Queue a verification of `response`. Every call queues one: a re-send re-verifies."""
    key = f"{KIND}:{response.id}:{secrets.token_hex(8)}"
    await job_queue.enqueue(KIND, {"response_id": response.id}, key=key, max_attempts=MAX_ATTEMPTS)


def target_urls(settings: Settings, target: str, post: Post) -> set[str]:
    """What counts as a link to the target: the URL sent, the permalink and the short link,
    each with http or https (the endpoint takes both as this site)."""
    urls = (target, settings.absolute(post.path), settings.absolute(f"s/{post.short_code}"))
    found = {u.split("://", 1)[1] for u in map(normalize_url, urls) if u}
    return {f"{scheme}://{rest}" for rest in found for scheme in ("http", "https")}


def _removed(response: Interaction, reason: str) -> Unverified:
    """A source that no longer supports the response: deleted if it was ever shown."""
    state = InteractionState.DELETED if response.verified_at else InteractionState.REJECTED
    return Unverified(state, reason)


class _Retry(job_queue.Retry):
    """A retry whose public reason (`reason`) may say less than the job's error."""

    def __init__(self, reason: str, detail: str | None, **kw: Any) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason, **kw)
        self.reason = reason


def _retry(
    ctx: JobContext,
    reason: str,
    last: Unverified | None = None,
    *,
    detail: str | None = None,
    **kw: Any,
) -> NoReturn:
    """Try again later (`reason` public, `detail` for the job's error only), or give up."""
    if ctx.job.attempts < ctx.job.max_attempts:
        raise _Retry(reason, detail, **kw)
    raise last or Unverified(InteractionState.REJECTED, reason)


def _network_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return TOO_SLOW
    if isinstance(exc, httpx.TransportError):  # connect, read, write, TLS, protocol errors
        return UNREACHABLE
    return BAD_ANSWER


async def _wait_for_host(ctx: JobContext, client: httpx.AsyncClient, url: str) -> None:
    """Politeness: wait for this worker's next slot for the source's host (see above)."""
    interval = webmention_settings(ctx.settings).fetch_interval
    if interval <= 0:
        return
    spacing = _spacing.get(client)
    if spacing is None:
        spacing = _spacing[client] = HostSpacing()
    host = moderation.domain_of(url)
    limit = min(interval, MAX_HOST_WAIT)
    wait = spacing.book(host, interval, limit=limit)
    if wait > limit:
        raise job_queue.Postpone(f"{host} was fetched moments ago", retry_after=wait)
    if wait > 0:
        await asyncio.sleep(wait)


async def _fetch_source(
    ctx: JobContext, client: httpx.AsyncClient, response: Interaction
) -> httpx.Response:
    problem = check_url(response.source)
    if problem is not None:
        log.info("webmention %s: source %s refused: %s", response.id, response.source, problem)
        raise Unverified(InteractionState.REJECTED, MALFORMED)
    await _wait_for_host(ctx, client, response.source)
    try:
        fetched = await fetch(
            client,
            "GET",
            response.source,
            headers={"Accept": ACCEPT},
            max_bytes=SOURCE_MAX_BYTES,
            total_timeout=SOURCE_TIMEOUT,
        )
    except (BlockedAddressError, httpx.UnsupportedProtocol) as exc:
        # Not the guard's own message: that names the address a host resolved to here.
        raise Unverified(InteractionState.REJECTED, NOT_PUBLIC) from exc
    except (MalformedURLError, httpx.InvalidURL, UnicodeError) as exc:
        # A redirect to a URL that cannot be fetched (bad IDNA raises a UnicodeError).
        log.info("webmention %s: a redirect was refused: %s", response.id, exc)
        raise Unverified(InteractionState.REJECTED, MALFORMED) from exc
    except httpx.RemoteProtocolError as exc:
        if str(exc).startswith(BAD_LOCATION):  # httpx's words for a redirect it cannot parse
            log.info("webmention %s: a redirect was refused: %s", response.id, exc)
            raise Unverified(InteractionState.REJECTED, MALFORMED) from exc
        _retry(ctx, UNREACHABLE, detail=f"{type(exc).__name__}: {exc}")
    except ResponseTooLarge as exc:
        reason = f"the source is larger than {SOURCE_MAX_BYTES} bytes"
        raise Unverified(InteractionState.REJECTED, reason) from exc
    except httpx.TooManyRedirects as exc:
        raise Unverified(InteractionState.REJECTED, "the source redirects too many times") from exc
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}"
        log.info("webmention %s: fetching %s failed: %s", response.id, response.source, detail)
        _retry(ctx, _network_reason(exc), detail=detail)
    status = fetched.status_code
    if status == 410:
        raise _removed(response, "the source is gone (HTTP 410)")
    if status == 404:
        reason = "the source was not found (HTTP 404)"
        _retry(ctx, reason, _removed(response, reason))
    if status == 429 or status >= 500:
        wait = retry_after_seconds(fetched)
        _retry(ctx, f"the source answered HTTP {status}", retry_after=wait)
    if not 200 <= status < 300:
        raise Unverified(InteractionState.REJECTED, f"the source answered HTTP {status}")
    return fetched


async def _read(
    ctx: JobContext, fetched: httpx.Response, response: Interaction, post: Post
) -> response_fields.Fields:
    content_type = fetched.headers.get("Content-Type") or "text/html"
    url = str(fetched.url)
    document = await asyncio.to_thread(
        response_fields.read_document, fetched.content, content_type, url, fetched.charset_encoding
    )
    if document is None:
        reason = (
            f"the source is {response_fields.media_type(content_type)}, not HTML, mf2 JSON or text"
        )
        raise Unverified(InteractionState.REJECTED, reason)
    targets = target_urls(ctx.settings, response.target, post)
    if not document.links_to(targets):
        raise _removed(response, "the source does not link to the target")
    return await asyncio.to_thread(
        response_fields.response_fields, document, response.source, targets, ctx.settings.url
    )


async def _parent_id(
    response: Interaction, post: Post, fields: response_fields.Fields
) -> int | None:
    """The earlier response to the same post that this reply answers, if any."""
    in_reply_to = fields.in_reply_to if fields.kind == "reply" else []
    if not in_reply_to:
        return None
    earlier = Interaction.filter(
        post_id=post.id, id__lt=response.id, state=InteractionState.ACCEPTED
    )
    for row in await earlier.order_by("-id").values("id", "identities"):
        if set(in_reply_to) & set(row["identities"] or []):
            return int(row["id"])
    return None


async def _accept(
    ctx: JobContext,
    response: Interaction,
    post: Post,
    fields: response_fields.Fields,
    rule: str | None,
) -> None:
    """Store what the source says, and whether it is shown."""
    author = fields.author
    author_url = author.url if author.url and len(author.url) <= MAX_URL else None
    response.update_from_dict(
        {
            "kind": fields.kind,
            "rsvp": fields.rsvp,
            "author_name": author.name,
            "author_url": author_url,
            "author_photo": await cached_photo(ctx, author.photo),
            "content_html": fields.content_html,
            "content_text": fields.content_text,
            "url": fields.url if len(fields.url) <= MAX_URL else response.source,
            "published": fields.published,
            "identities": fields.identities,
            "mf2": fields.entry,
            "parent_id": await _parent_id(response, post, fields),
            "state": InteractionState.ACCEPTED,
            "reason": None,
            "verified_at": datetime.now(UTC),
        }
    )
    response.approval = await moderation.approval_for(response, ctx.settings.moderation, rule)
    await response.save()


async def _settle(response: Interaction, outcome: Unverified) -> None:
    values: dict[str, Any] = {"state": outcome.state, "reason": outcome.reason}
    if outcome.state == InteractionState.DELETED:
        # The author took it back: keep who and where, not what it said.
        values.update(content_html=None, content_text=None, mf2=None)
    await response.update_from_dict(values).save()


async def verify(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `webmention.verify` job: `payload["response_id"]` names the `Interaction`."""
    # One query (a join) for the row and its post: every statement waits its turn on SQLite.
    found = Interaction.filter(id=payload["response_id"]).select_related("post")
    response = await found.first()
    post = response.post if response is not None else None
    if response is None or post is None:
        return  # the row or its post was deleted since
    if ctx.http is None:
        raise job_queue.PermanentFailure("the worker has no HTTP client")
    submitted = moderation.domain_of(response.source)
    try:
        rule = await moderation.domain_rule(submitted)
        if rule == moderation.BLOCK:
            raise Unverified(InteractionState.REJECTED, moderation.BLOCKED_REASON)
        fetched = await _fetch_source(ctx, ctx.http, response)
        # Trust follows the content: the rules of the domain it came from, after redirects
        # (looked up again only if a redirect changed it).
        response.domain = moderation.domain_of(str(fetched.url))
        if response.domain != submitted:
            rule = await moderation.domain_rule(response.domain)
        if rule == moderation.BLOCK:
            raise Unverified(InteractionState.REJECTED, moderation.BLOCKED_REASON)
        fields = await _read(ctx, fetched, response, post)
    except Unverified as outcome:
        await _settle(response, outcome)
    except job_queue.Postpone:
        raise
    except job_queue.Retry as retry:
        public = retry.reason if isinstance(retry, _Retry) else str(retry)
        await Interaction.filter(id=response.id).update(reason=RETRY_PREFIX + public)
        raise
    except Exception:
        if ctx.job.attempts >= ctx.job.max_attempts:  # a bug here must not leave it pending
            await _settle(response, Unverified(InteractionState.REJECTED, INTERNAL_ERROR))
        raise
    else:
        await _accept(ctx, response, post, fields, rule)
    await moderation.regroup(post.id)


HANDLERS: dict[str, Handler] = {KIND: verify}
