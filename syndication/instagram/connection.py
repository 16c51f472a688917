"""Connecting the Instagram account: store it, then start everything that runs on it.

`connect` asks `/me` with the given long-lived token and stores the account (one only: it
replaces any other), queues again the Instagram jobs that died of the old token, then
starts polling and schedules the token refresh. The CLI (`hearth instagram connect`) and
the admin's Connect page (`hearth.syndication.instagram.connect`) both end here. It sits
above `account` (the account's storage and refresh) and `poll`, which both build on the
account, so neither has to import the other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from hearth.server.core import job_queue
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.account import (
    JOB_KIND_PREFIX,
    RECONNECT_MARKER,
    TOKEN_OK,
    schedule_refresh,
)
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.poll import ensure_polling
from hearth.syndication.instagram.tables import InstagramAccount, sealed_token

__all__ = ["connect"]


async def connect(
    settings: Settings,
    http: httpx.AsyncClient,
    access_token: str,
    *,
    expires_in: int | None = None,
) -> InstagramAccount:
    """Store the account that `access_token` belongs to, replacing any other; start polling.

    `expires_in` (seconds, from the token exchange) sets `token_expires_at`; a token pasted
    without it has an unknown expiry, checked a day later by the refresh job.
    """
    me = await InstagramClient(http, settings, access_token).me()
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None
    async with in_transaction():
        await InstagramAccount.exclude(user_id=me.id).delete()
        values: dict[str, Any] = {
            "access_token": sealed_token(settings, access_token),
            "username": me.username, "token_expires_at": expires_at,
            "token_state": TOKEN_OK, "last_error": None, "paused_until": None,
        }  # fmt: skip
        account, _ = await InstagramAccount.update_or_create(values, user_id=me.id)
    # Only now that the token is good: revived jobs run at once and would die again before.
    await job_queue.revive(JOB_KIND_PREFIX, RECONNECT_MARKER)
    await ensure_polling(settings)
    await schedule_refresh(account)
    return account
