"""Sign-in rate limiting: failures counted per known device, or per address and site-wide.

OWASP's device cookies
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies): a
browser that has signed in before brings a signed device cookie (`device_cookie.py`), and its
failures are counted under that device alone (`device_key`). Every other client is
untrusted: its failures count per address (`address_key`) and, together, site-wide. An
attacker without a device cookie can so lock out untrusted clients only; the owner's known
browser with the right password still signs in, whatever the attacker does (and behind a
proxy, where every visitor shares one address).

Every attempt is recorded as a `LoginFailure` *before* the password is checked and the row
is only removed when the password was right, so parallel requests cannot slip extra guesses
past the count. A key with `login_max_failures` rows younger than `login_lock_seconds` is
locked (a sliding window: the lock lifts when enough of its failures have aged out), and
while locked its password is not checked at all. Ten times that many failures of untrusted
clients together lock sign-in for every untrusted client, which blunts guessing spread over
many hosts.
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
# Failures of a known device are stored under this prefix (never an address's spelling).
DEVICE_PREFIX = "device:"


@dataclass(frozen=True)
class Locked:
    """Sign-in refused without checking the password, for `retry_after` more seconds."""

    retry_after: int
    scope: Literal["address", "device", "site"]


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
        return host.removeprefix(DEVICE_PREFIX)[:_ADDRESS_MAX]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def device_key(device_id: str) -> str:
    """The key a known device's failures are counted under."""
    return (DEVICE_PREFIX + device_id)[:_ADDRESS_MAX]


def _is_device(key: str) -> bool:
    return key.startswith(DEVICE_PREFIX)


def _untrusted(query: QuerySet[LoginFailure]) -> QuerySet[LoginFailure]:
    """Only the failures of untrusted clients: the site-wide count ignores known devices."""
    return query.exclude(address__startswith=DEVICE_PREFIX)


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
    """Whether sign-in under `address` (an address or a device key) is locked now, and for
    how long. A known device is never held by the site-wide count."""
    now = now or datetime.now(UTC)
    per_address, site_wide = _limits(settings)
    recent = LoginFailure.filter(at__gte=_window_start(settings, now))
    lock = timedelta(seconds=settings.login_lock_seconds)
    # Locked until the limit-th newest failure leaves the window.
    edge = await _edge(recent.filter(address=address), per_address)
    if edge is not None:
        scope: Literal["address", "device"] = "device" if _is_device(address) else "address"
        return Locked(_seconds_until(edge + lock, now), scope)
    if _is_device(address):
        return None
    edge = await _edge(_untrusted(recent), site_wide)
    if edge is not None:
        return Locked(_seconds_until(edge + lock, now), "site")
    return None


async def reserve(
    address: str, settings: Settings, now: datetime | None = None
) -> Attempt | Locked:
    """Record an attempt under `address` (an address or a device key) ahead of the password
    check, unless it is locked."""
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
    over_site = not _is_device(address) and await _untrusted(earlier).count() > site_wide
    if await earlier.filter(address=address).count() > per_address or over_site:
        await row.delete()
        return await lock_state(address, settings, now) or Locked(
            1, "device" if _is_device(address) else "address"
        )
    return Attempt(row.id, address)


async def attempts_left(address: str, settings: Settings, now: datetime | None = None) -> int:
    """Failures `address` may still have before it is locked."""
    now = now or datetime.now(UTC)
    per_address, _ = _limits(settings)
    used = await LoginFailure.filter(address=address, at__gte=_window_start(settings, now)).count()
    return max(0, per_address - used)


async def succeeded(attempt: Attempt) -> None:
    """The password was right: forget the failures of the attempt's key, this attempt's
    included (a known device's own; an untrusted client's address's). A known device never
    clears its address's: an attacker may share it (behind a proxy, everyone does)."""
    await LoginFailure.filter(address=attempt.address).delete()
