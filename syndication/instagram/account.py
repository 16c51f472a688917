"""The one connected Instagram account: reading it, its token's refresh, what errors do to it.

Long-lived tokens last 60 days and can be refreshed once they are a day old
(https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token); error
code 190 means the token expired or was revoked
(https://developers.facebook.com/docs/graph-api/guides/error-handling); past a rate limit, work
pauses until the window has passed
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).

* `hearth.syndication.instagram.connection.connect` stores a newly connected account and
  starts its work; `schedule_refresh` here starts the token refresh chain.
* `instagram.refresh_token` refreshes the token once fewer than `REFRESH_BEFORE` remain,
  reads the username again (a rename on Instagram must not hide our own comments), and
  schedules its successor whatever happened, like the poll: an outage or a worker killed
  mid-refresh must not end the chain, or the token quietly expires 60 days later. Only a bad
  token ends it (the owner must reconnect, and `connect` starts a new chain). The successor is
  keyed by the job that schedules it, so replays schedule once, and is left out while another
  refresh is queued to run by then, so chains merge instead of multiplying.
  `ensure_refresh` (worker start) restarts a chain that ended anyway.
* `api_errors(account)` turns client errors into job outcomes: code 190 marks the account
  `expired`/`revoked` with what to do and raises PermanentFailure; every Instagram job then
  refuses (`active_account`) until the owner reconnects. A rate limit sets `paused_until`.
* While a pause lasts, jobs are postponed (`job_queue.Postpone`), not failed: waiting on the
  account is not an attempt, and the queue spreads them over a window after the pause ends. A
  call Instagram refused with a rate limit is a counted attempt (`job_queue.Retry`): a call
  was made.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hearth.server.core import job_queue, secrets_at_rest
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.api_errors import (
    InstagramError,
    RateLimited,
    TokenInvalid,
    job_error,
)
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.tables import InstagramAccount, sealed_token

REFRESH = "instagram.refresh_token"
REFRESH_BEFORE = timedelta(days=10)
TOKEN_OK = "ok"  # noqa: S105 - a state name, not a secret
# Meta refreshes only tokens at least a day old; an unknown expiry is checked then.
MIN_TOKEN_AGE = timedelta(days=1)
# Every job that dies because of the token says so with this text, and only those: a new
# connection revives exactly the jobs whose error holds it (`job_queue.revive`).
RECONNECT_MARKER = "Reconnect Instagram:"
RECONNECT = (
    f"{RECONNECT_MARKER} run `hearth instagram connect --access-token TOKEN` with a new "
    "long-lived token (or use Connect Instagram in the admin)."
)
JOB_KIND_PREFIX = "instagram."


def _now() -> datetime:
    return datetime.now(UTC)


async def current_account() -> InstagramAccount | None:
    return await InstagramAccount.all().order_by("-id").first()


def client_for(
    settings: Settings, http: httpx.AsyncClient, account: InstagramAccount
) -> InstagramClient:
    try:
        token = account.token(settings)
    except secrets_at_rest.SecretUnreadable:
        raise job_queue.PermanentFailure(
            f"The stored Instagram token does not open with this site's secret key. {RECONNECT}"
        ) from None
    return InstagramClient(http, settings, token)


async def active_account() -> InstagramAccount | None:
    """The account if Instagram work may run now; PermanentFailure if its token is bad.

    None when no account is connected; `job_queue.Postpone` (not an attempt) while a rate-limit
    pause lasts.
    """
    account = await current_account()
    if account is None:
        return None
    if account.token_state != TOKEN_OK:
        raise token_failure(account)
    if account.paused_until and account.paused_until > _now():
        wait = (account.paused_until - _now()).total_seconds()
        raise job_queue.Postpone(
            f"Instagram rate limit: paused until {account.paused_until}", retry_after=wait
        )
    return account


def token_failure(account: InstagramAccount) -> job_queue.PermanentFailure:
    """The failure of a job stopped by a bad token; its text holds RECONNECT_MARKER."""
    error = account.last_error or ""
    if RECONNECT_MARKER not in error:  # e.g. a rate-limit note written over it meanwhile
        error = f"Instagram token {account.token_state}. {RECONNECT}"
    return job_queue.PermanentFailure(error)


async def mark_token_invalid(account: InstagramAccount, error: TokenInvalid) -> None:
    state = {463: "expired", 459: "error", 464: "error"}.get(error.subcode or 0, "revoked")
    account.token_state = state
    account.last_error = f"Instagram refused the token: {error.reason}. {RECONNECT}"
    await account.save(update_fields=["token_state", "last_error", "updated_at"])


async def pause(account: InstagramAccount, seconds: float, reason: str) -> None:
    """Record a rate-limit pause on the account: Instagram jobs wait until it ends."""
    account.paused_until = _now() + timedelta(seconds=seconds)
    account.last_error = reason
    await account.save(update_fields=["paused_until", "last_error", "updated_at"])


@asynccontextmanager
async def api_errors(account: InstagramAccount) -> AsyncIterator[None]:
    """Map Instagram errors raised inside to job outcomes, updating the account (see above)."""
    try:
        yield
    except TokenInvalid as exc:
        await mark_token_invalid(account, exc)
        raise token_failure(account) from None
    except RateLimited as exc:
        await pause(account, exc.retry_after, str(exc))
        raise job_queue.Retry(str(exc), retry_after=exc.retry_after) from None
    except InstagramError as exc:
        raise job_error(exc) from None


async def check_usage(account: InstagramAccount, client: InstagramClient) -> None:
    """Pause once the usage headers pass 90%, postponing the job: its call worked."""
    wait = client.usage.pause_seconds() if client.usage else 0.0
    if wait > 0:
        percent = client.usage.percent if client.usage else 0
        reason = f"Instagram usage at {percent:.0f}%: pausing"
        await pause(account, wait, reason)
        raise job_queue.Postpone(reason, retry_after=wait)


def _refresh_at(account: InstagramAccount) -> datetime:
    if account.token_expires_at is None:
        return _now() + MIN_TOKEN_AGE
    return max(account.token_expires_at - REFRESH_BEFORE, _now() + MIN_TOKEN_AGE)


async def schedule_refresh(account: InstagramAccount, *, after: Job | None = None) -> None:
    """Queue the next refresh unless another one is queued to run by then.

    `after` is the refresh job scheduling its successor (keyed by it: replays queue it once);
    without it (connect, worker start) the key is the second it runs.
    """
    run_at = _refresh_at(account)
    queued = Job.filter(
        kind=REFRESH,
        state=JobState.QUEUED,
        idempotency_key__startswith=f"{REFRESH}:{account.user_id}:",
        run_at__lte=run_at,
    )
    if after is not None:
        queued = queued.exclude(id=after.id)
    if await queued.exists():
        return
    origin = f"after:{after.id}" if after is not None else f"{run_at:%Y-%m-%dT%H:%M:%S}"
    key = f"{REFRESH}:{account.user_id}:{origin}"
    await job_queue.enqueue(REFRESH, {"user_id": account.user_id}, key=key, run_at=run_at)


async def ensure_refresh() -> None:
    """Restart the refresh chain of a connected account with a working token, if it ended.

    For worker start: a worker killed on a refresh's last attempt leaves no successor.
    """
    account = await current_account()
    if account is not None and account.token_state == TOKEN_OK:
        await schedule_refresh(account)


async def refresh_token(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.refresh_token` job: refresh when fewer than 10 days are left."""
    try:
        await _refresh(ctx, payload)
    finally:
        # Whatever happened, unless the token went bad or the account changed (see above).
        account = await current_account()
        if (
            account is not None
            and account.user_id == payload.get("user_id")
            and account.token_state == TOKEN_OK
        ):
            await schedule_refresh(account, after=ctx.job)


async def _refresh(ctx: JobContext, payload: dict[str, Any]) -> None:
    account = await active_account()
    if account is None or account.user_id != payload.get("user_id"):
        return  # disconnected or replaced since: the new connection scheduled its own
    if ctx.http is None:
        raise job_queue.Retry("no HTTP client in this worker")
    expires = account.token_expires_at
    if expires is None or expires - _now() < REFRESH_BEFORE:
        async with api_errors(account):
            token = await client_for(ctx.settings, ctx.http, account).refresh_token()
        account.access_token = sealed_token(ctx.settings, str(token.access_token))
        if token.expires_in:
            account.token_expires_at = _now() + timedelta(seconds=token.expires_in)
        await account.save(update_fields=["access_token", "token_expires_at", "updated_at"])
    # Our own citation comments are recognised by username, which the owner may change.
    async with api_errors(account):
        me = await client_for(ctx.settings, ctx.http, account).me()
    if me.username != account.username:
        account.username = me.username
        await account.save(update_fields=["username", "updated_at"])


HANDLERS: dict[str, Handler] = {REFRESH: refresh_token}
