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

The row is read once before the fetch and the outcome written once after it, with its
approval, thread parent and regrouping, each a single trip to the database (`outcome`).

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
from typing import Any, NoReturn

import httpx

from hearth.server.core import job_queue, page_changes
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
from hearth.server.core.models import Interaction, InteractionState
from hearth.server.core.settings import Settings
from hearth.server.webmention import moderation, outcome, response_fields
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


def job_key_prefix(response_id: int) -> str:
    """What the keys of a response's verification jobs begin with."""
    return f"{KIND}:{response_id}:"


def job_key(response_id: int) -> str:
    """A new verification job's idempotency key: every (re-)send queues its own."""
    return f"{job_key_prefix(response_id)}{secrets.token_hex(8)}"


async def schedule(response: Interaction) -> None:
    """Queue a verification of `response`. Every call queues one: a re-send re-verifies."""
    key = job_key(response.id)
    await job_queue.enqueue(KIND, {"response_id": response.id}, key=key, max_attempts=MAX_ATTEMPTS)


def target_urls(settings: Settings, target: str, path: str, short_code: str) -> set[str]:
    """What counts as a link to the target: the URL sent, the post's permalink (`path`) and
    short link, each with http or https (the endpoint takes both as this site)."""
    urls = (target, settings.absolute(path), settings.absolute(f"s/{short_code}"))
    found = {u.split("://", 1)[1] for u in map(normalize_url, urls) if u}
    return {f"{scheme}://{rest}" for rest in found for scheme in ("http", "https")}


def _removed(response: outcome.Pending, reason: str) -> Unverified:
    """A source that no longer supports the response: deleted if it was ever shown."""
    state = InteractionState.DELETED if response.was_verified else InteractionState.REJECTED
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
    ctx: JobContext, client: httpx.AsyncClient, response: outcome.Pending
) -> httpx.Response:
    try:
        # Parsed once, for the check and the request (a string would be parsed by both).
        url: httpx.URL | str = httpx.URL(response.source)
    except (httpx.InvalidURL, ValueError):  # check_url says so
        url = response.source
    problem = check_url(url)
    if problem is not None:
        log.info("webmention %s: source %s refused: %s", response.id, response.source, problem)
        raise Unverified(InteractionState.REJECTED, MALFORMED)
    await _wait_for_host(ctx, client, response.source)
    try:
        fetched = await fetch(
            client,
            "GET",
            url,
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


def _understand(
    settings: Settings,
    body: bytes,
    content_type: str,
    url: str,
    charset: str | None,
    response: outcome.Pending,
) -> response_fields.Fields:
    """Parse the source, check its link, read the response: CPU-bound (html5lib and mf2py),
    so it runs in a thread, all of it in one trip there."""
    document = response_fields.read_document(body, content_type, url, charset)
    if document is None:
        reason = (
            f"the source is {response_fields.media_type(content_type)}, not HTML, mf2 JSON or text"
        )
        raise Unverified(InteractionState.REJECTED, reason)
    targets = target_urls(settings, response.target, response.post_path, response.post_short_code)
    if not document.links_to(targets):
        raise _removed(response, "the source does not link to the target")
    return response_fields.response_fields(document, response.source, targets, settings.url)


async def _read(
    ctx: JobContext, fetched: httpx.Response, response: outcome.Pending
) -> response_fields.Fields:
    content_type = fetched.headers.get("Content-Type") or "text/html"
    return await asyncio.to_thread(
        _understand,
        ctx.settings,
        fetched.content,
        content_type,
        str(fetched.url),
        fetched.charset_encoding,
        response,
    )


async def _accept(
    ctx: JobContext,
    response: outcome.Pending,
    domain: str,
    fields: response_fields.Fields,
    rule: str | None,
) -> None:
    """Store what the source says, and whether it is shown."""
    author = fields.author
    author_url = author.url if author.url and len(author.url) <= MAX_URL else None
    values = {
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
    }
    # Threading: what else a reply answers may be an earlier response to the same post.
    in_reply_to = fields.in_reply_to if fields.kind == "reply" else []
    await outcome.accepted(response, domain, values, in_reply_to, ctx.settings.moderation, rule)


async def verify(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `webmention.verify` job: `payload["response_id"]` names the `Interaction`."""
    response = await outcome.load(int(payload["response_id"]))
    if response is None:
        return  # the row or its post was deleted since
    if ctx.http is None:
        raise job_queue.PermanentFailure("the worker has no HTTP client")
    try:
        await _verify(ctx, ctx.http, response)
    finally:
        # Whatever the outcome, even a failure, the post's responses may have changed
        # (shown, hidden, regrouped): bumped once the job's transactions are committed.
        page_changes.changed(response.post_id)


async def _verify(ctx: JobContext, http: httpx.AsyncClient, response: outcome.Pending) -> None:
    """Fetch, check and store the outcome, or fail the attempt (retried or settled)."""
    submitted = moderation.domain_of(response.source)
    domain: str | None = None  # the source's, once fetched
    try:
        rule = await moderation.domain_rule(submitted)
        if rule == moderation.BLOCK:
            raise Unverified(InteractionState.REJECTED, moderation.BLOCKED_REASON)
        fetched = await _fetch_source(ctx, http, response)
        # Trust follows the content: the rules of the domain it came from, after redirects
        # (looked up again only if a redirect changed it).
        domain = moderation.domain_of(str(fetched.url))
        if domain != submitted:
            rule = await moderation.domain_rule(domain)
        if rule == moderation.BLOCK:
            raise Unverified(InteractionState.REJECTED, moderation.BLOCKED_REASON)
        fields = await _read(ctx, fetched, response)
    except Unverified as ended:
        await outcome.settled(response, domain, ended.state, ended.reason)
    except job_queue.Postpone:
        raise
    except job_queue.Retry as retry:
        public = retry.reason if isinstance(retry, _Retry) else str(retry)
        await Interaction.filter(id=response.id).update(reason=RETRY_PREFIX + public)
        raise
    except Exception:
        if ctx.job.attempts >= ctx.job.max_attempts:  # a bug here must not leave it pending
            await outcome.settled(response, domain, InteractionState.REJECTED, INTERNAL_ERROR)
        raise
    else:
        await _accept(ctx, response, domain, fields, rule)


HANDLERS: dict[str, Handler] = {KIND: verify}
