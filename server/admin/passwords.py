"""The owner's admin password: an argon2id hash in the `admin_password` site setting.

The setting's value is `{"hash": "$argon2id$..."}`. `hearth set-password` calls
`set_password`; the sign-in form calls `verify_password`, which
also upgrades the stored hash when argon2-cffi's recommended parameters have changed.
"""

from __future__ import annotations

import asyncio
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hearth.server.core.models import AdminSession, SiteSetting

SETTING_KEY = "admin_password"
MIN_LENGTH = 8
# Longer input is not a password anyone types; refusing it bounds the work per attempt.
MAX_LENGTH = 1024

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile (64 MiB, t=3, p=4).
DEFAULT_HASHER = PasswordHasher()
_hasher = DEFAULT_HASHER
# Each hash holds 64 MiB for a fraction of a second: a burst of sign-in attempts queues here
# (in the worker threads) instead of all allocating at once.
_HASH_SLOTS = threading.BoundedSemaphore(2)


def hasher() -> PasswordHasher:
    """The hasher in use; a module attribute so tests can swap its parameters."""
    return _hasher


def _hash(password: str) -> str:
    with _HASH_SLOTS:
        return hasher().hash(password)


def _verify(stored: str, password: str) -> bool:
    with _HASH_SLOTS:
        try:
            return hasher().verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def check_password_rules(password: str) -> None:
    """Raise ValueError, with a message for the owner, when `password` is not acceptable."""
    if not password:
        raise ValueError("the password must not be empty")
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must be at most {MAX_LENGTH} characters long")


def _setting(encoded: str) -> dict[str, str]:
    # A dict, not the bare string: Tortoise's JSONField takes a str value for JSON text
    # already encoded, so a bare hash would fail to load.
    return {"hash": encoded}


async def stored_hash() -> str | None:
    """The stored argon2 hash, or None before `hearth set-password` has run."""
    row = await SiteSetting.get_or_none(key=SETTING_KEY)
    value = row.value if row is not None else None
    if isinstance(value, dict):
        value = value.get("hash")
    return value if isinstance(value, str) and value.startswith("$argon2") else None


async def password_is_set() -> bool:
    return await stored_hash() is not None


async def set_password(password: str) -> None:
    """Store `password`'s argon2id hash and sign out every admin session.

    Raises ValueError for an empty, too short or absurdly long password.
    """
    check_password_rules(password)
    encoded = await asyncio.to_thread(_hash, password)
    await SiteSetting.update_or_create(key=SETTING_KEY, defaults={"value": _setting(encoded)})
    # A new password is how the owner locks out whoever learnt the old one.
    await AdminSession.all().delete()


async def verify_password(password: str) -> bool:
    """True when `password` is the owner's; rehashes the stored value if parameters changed."""
    if not isinstance(password, str) or not password or len(password) > MAX_LENGTH:
        return False
    encoded = await stored_hash()
    if encoded is None:
        return False
    if not await asyncio.to_thread(_verify, encoded, password):
        return False
    if hasher().check_needs_rehash(encoded):
        upgraded = await asyncio.to_thread(_hash, password)
        # Unless `hearth set-password` replaced the hash meanwhile.
        if await stored_hash() == encoded:
            await SiteSetting.filter(key=SETTING_KEY).update(value=_setting(upgraded))
    return True
