"""Secrets kept in the database (a silo's access token), encrypted with the site's key.

A database copy, backup or dump alone does not give away the owner's silo accounts: each
secret is stored sealed, with AES-256-GCM under a key derived from `Settings.secret_key` by
HKDF-SHA256 (its own `info`, so the key is used for nothing else). Every value has a fresh
random 96-bit nonce, and its `purpose` (where it is stored, e.g.
"instagram_accounts.access_token") is the associated data, so a sealed value copied into
another column does not open there. A sealed value is spelled `SEALED_PREFIX` + base64url
of nonce and ciphertext.

`unseal` also accepts a value stored before sealing existed (no prefix): it is returned as
it is, so a database opens while its data migration has not run (each silo's migration
seals its stored secrets; `migration_settings` gives it the key).

Changing the secret key makes sealed secrets unreadable (`SecretUnreadable`): the silo is
connected again, as after a revoked token.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hearth.server.core.settings import Settings

__all__ = [
    "SEALED_PREFIX",
    "SecretUnreadable",
    "is_sealed",
    "migrating",
    "migration_settings",
    "seal",
    "unseal",
]

SEALED_PREFIX = "hearth-sealed:v1:"
_INFO = b"hearth secrets at rest v1"
_NONCE_BYTES = 12

# The settings of the database being migrated, for data migrations that seal secrets.
_migrating: ContextVar[Settings | None] = ContextVar("hearth_migrating", default=None)


class SecretUnreadable(ValueError):
    """A sealed value that does not open with this site's key (changed, or tampered with)."""


def _cipher(settings: Settings) -> AESGCM:
    secret = str(settings.secret_key).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return AESGCM(key)


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def seal(settings: Settings, purpose: str, secret: str) -> str:
    """`secret`, encrypted for storing where `purpose` names."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(settings).encrypt(nonce, secret.encode(), purpose.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(settings: Settings, purpose: str, stored: str) -> str:
    """The secret `stored` holds: decrypted, or as it is if it was stored unsealed."""
    if not is_sealed(stored):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored[len(SEALED_PREFIX) :].encode("ascii"))
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        return _cipher(settings).decrypt(nonce, sealed, purpose.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error, UnicodeError) as exc:
        raise SecretUnreadable(
            f"the stored {purpose} does not open with this site's secret key"
        ) from exc


@contextmanager
def migrating(settings: Settings) -> Iterator[None]:
    """Within the block, data migrations find `settings` (its secret key) to seal with."""
    token = _migrating.set(settings)
    try:
        yield
    finally:
        _migrating.reset(token)


def migration_settings() -> Settings | None:
    """The settings of the database being migrated, if the migration runs inside `migrating`."""
    return _migrating.get()
