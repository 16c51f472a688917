"""Create receipts: a client that sends the same create twice gets the first post back.

Spec: https://www.w3.org/TR/micropub/#response-3 (§3.3.6: the create answers with the
post's `Location`); the `Idempotency-Key` header is
https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/

Two keys, both scoped to the token and stored hashed (`MicropubReceipt.key`):

- with an `Idempotency-Key` header, that key: a resend answers with the same Location
  however much later it comes;
- without one, a digest of the parsed request and the uploaded files' bytes: the same
  create sent again within `DOUBLE_SEND_WINDOW` (a double tap, a retry after a timeout)
  answers with the same Location; after that it is a new post. The parsed request is
  hashed rather than the raw body, so a multipart resend with a new boundary still matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson

from micropub.request import MicropubRequest
from server.models import MicropubReceipt, Post, Token

__all__ = ["DOUBLE_SEND_WINDOW", "find_receipt", "receipt_key", "record_receipt"]

DOUBLE_SEND_WINDOW = timedelta(minutes=5)
_HEADER_PREFIX = "idem:"
_BODY_PREFIX = "body:"
# Longer header values are refused by the endpoint rather than hashed.
MAX_IDEMPOTENCY_KEY = 255


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        # Length-prefixed, so no two different part lists hash the same bytes.
        hasher.update(len(part).to_bytes(8, "big") + part)
    return hasher.hexdigest()


def receipt_key(
    token: Token,
    request: MicropubRequest,
    upload_digests: Sequence[str],
    idempotency_key: str | None,
) -> str:
    """The receipt key of a create: the header's if given, else the request's digest."""
    if idempotency_key:
        return _HEADER_PREFIX + _digest(token.token_hash.encode(), idempotency_key.encode())
    body = orjson.dumps(
        {"request": request.to_json(), "uploads": list(upload_digests)},
        option=orjson.OPT_SORT_KEYS,
    )
    return _BODY_PREFIX + _digest(token.token_hash.encode(), body)


async def find_receipt(key: str) -> Post | None:
    """The post an earlier create with this key made, if the receipt still holds."""
    receipt = await MicropubReceipt.get_or_none(key=key).prefetch_related("post")
    if receipt is None:
        return None
    expires = receipt.created_at + DOUBLE_SEND_WINDOW
    if key.startswith(_BODY_PREFIX) and expires < datetime.now(UTC):
        return None
    return receipt.post


async def record_receipt(key: str, post: Post) -> None:
    """Remember that `key` made `post`, replacing an expired receipt with the same key.

    Raises IntegrityError when a concurrent create recorded the key first.
    """
    if key.startswith(_BODY_PREFIX):
        cutoff = datetime.now(UTC) - DOUBLE_SEND_WINDOW
        await MicropubReceipt.filter(key=key, created_at__lt=cutoff).delete()
    await MicropubReceipt.create(key=key, post=post)
