"""Sign-in rate limiting: failed attempts counted per client address, and site-wide.

Every attempt is recorded as a `LoginFailure` *before* the password is checked and the row
is only removed when the password was right, so parallel requests cannot slip extra guesses
past the count. An address with `login_max_failures` rows younger than `login_lock_seconds`
is locked (a sliding window: the lock lifts when enough of its failures have aged out), and
while locked its password is not checked at all. Ten times that many failures from all
addresses together lock sign-in for everyone, which blunts guessing spread over many hosts.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.queryset import QuerySet

from hearth.server.core.models import LoginFailure
from hearth.server.core.settings import Settings

# The site-wide cap, as a multiple of the per-address limit.
GLOBAL_FACTOR = 10
_ADDRESS_MAX = 64


@dataclass(frozen=True)
class Locked:
    """Sign-in refused without checking the password, for `retry_after` more seconds."""

    retry_after: int
    scope: Literal["address", "site"]


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: the failure row recorded in advance for one password check."""

    failure_id: int
    address: str


def address_key(host: str | None) -> str:
    """The key failures are counted under: the IPv4 address, or the IPv6 /64 network.

    One IPv6 host usually holds a whole /64, so counting single addresses would give it
    billions of tries.
    """
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:_ADDRESS_MAX]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _limits(settings: Settings) -> tuple[int, int]:
    per_address = max(1, settings.login_max_failures)
    return per_address, per_address * GLOBAL_FACTOR


def _window_start(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(seconds=settings.login_lock_seconds)


def _seconds_until(when: datetime, now: datetime) -> int:
    return max(1, math.ceil((when - now).total_seconds()))


async def _edge(query: QuerySet[LoginFailure], limit: int) -> datetime | None:
    """The time of the `limit`-th newest failure in `query`, if there are that many."""
    newest = await query.order_by("-at", "-id").offset(limit - 1).first()
    return newest.at if newest is not None else None


async def lock_state(
    address: str, settings: Settings, now: datetime | None = None
) -> Locked | None:
    """Whether sign-in from `address` is locked now, and for how long."""
    now = now or datetime.now(UTC)
    per_address, site_wide = _limits(settings)
    recent = LoginFailure.filter(at__gte=_window_start(settings, now))
    lock = timedelta(seconds=settings.login_lock_seconds)
    # Locked until the limit-th newest failure leaves the window.
    edge = await _edge(recent.filter(address=address), per_address)
    if edge is not None:
        return Locked(_seconds_until(edge + lock, now), "address")
    edge = await _edge(recent, site_wide)
    if edge is not None:
        return Locked(_seconds_until(edge + lock, now), "site")
    return None


async def reserve(
    address: str, settings: Settings, now: datetime | None = None
) -> Attempt | Locked:
    """Record an attempt from `address` ahead of the password check, unless it is locked."""
    now = now or datetime.now(UTC)
    start = _window_start(settings, now)
    await LoginFailure.filter(at__lt=start).delete()
    locked = await lock_state(address, settings, now)
    if locked is not None:
        return locked
    row = await LoginFailure.create(address=address, at=now)
    # Concurrent attempts may have passed the check above together; only those within the
    # limit, in the order their rows were written, go on to a password check.
    per_address, site_wide = _limits(settings)
    earlier = LoginFailure.filter(at__gte=start, id__lte=row.id)
    if (
        await earlier.filter(address=address).count() > per_address
        or await earlier.count() > site_wide
    ):
        await row.delete()
        return await lock_state(address, settings, now) or Locked(1, "address")
    return Attempt(row.id, address)


async def attempts_left(address: str, settings: Settings, now: datetime | None = None) -> int:
    """Failures `address` may still have before it is locked."""
    now = now or datetime.now(UTC)
    per_address, _ = _limits(settings)
    used = await LoginFailure.filter(address=address, at__gte=_window_start(settings, now)).count()
    return max(0, per_address - used)


async def succeeded(attempt: Attempt) -> None:
    """The password was right: forget the address's failures, this attempt's included."""
    await LoginFailure.filter(address=attempt.address).delete()
