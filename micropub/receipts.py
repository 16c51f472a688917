"""Create receipts: a client that sends the same create twice gets the first post back.

Spec: https://www.w3.org/TR/micropub/#response-3 (§3.3.6: the create answers with the
post's `Location`); the `Idempotency-Key` header is
https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/

Two kinds of receipt, both scoped to the token and stored hashed (`MicropubReceipt.key`):

- With an `Idempotency-Key` header the client names the request, and a resend of it answers
  with the same Location however much later it comes. The receipt also keeps a digest of
  the request: the same key with a different request is refused (422, as the draft says),
  never answered with a post that says something else. A key whose post has since been
  deleted is refused too (409): the request was carried out, and making the post again
  would bring back what the owner deleted; undeleting the post makes the key answer again.
- Without one, the same request (the parsed body, the uploaded files' bytes and the
  client's User-Agent) sent again within `DOUBLE_SEND_WINDOW` is taken for a double tap or a
  retry after a lost answer, and answers with the same Location. The window is short, so
  the same "+1" sent on purpose a minute later is a new post; the User-Agent is part of it,
  so two apps sharing a token never swallow each other's posts; and it ends as soon as the
  post is updated, deleted or undeleted (`end_double_send_window`), so a receipt never
  answers with a post that no longer says what was sent.

The parsed request is hashed rather than the raw body, so a multipart resend with a new
boundary still matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.request import MicropubRequest
from hearth.server.core import one_trip
from hearth.server.core.models import MicropubReceipt, Post, Token

__all__ = [
    "DOUBLE_SEND_WINDOW",
    "MAX_IDEMPOTENCY_KEY",
    "ReceiptKey",
    "end_double_send_window",
    "find_receipt",
    "find_unit",
    "receipt_key",
    "record_unit",
]

DOUBLE_SEND_WINDOW = timedelta(seconds=30)
_HEADER_PREFIX = "idem:"
_BODY_PREFIX = "body:"
# Longer header values are refused by the endpoint rather than hashed.
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class ReceiptKey:
    """Where a create's receipt is filed (`key`), and what request it stands for."""

    key: str
    request_digest: str

    @property
    def explicit(self) -> bool:
        """Whether the client named the request with an Idempotency-Key."""
        return self.key.startswith(_HEADER_PREFIX)


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
    user_agent: str = "",
) -> ReceiptKey:
    """The receipt of a create: filed under the header's key if given, else the request's."""
    body = orjson.dumps(
        {"request": request.to_json(), "uploads": list(upload_digests)},
        option=orjson.OPT_SORT_KEYS,
    )
    request_digest = _digest(token.token_hash.encode(), body)
    if idempotency_key:
        key = _HEADER_PREFIX + _digest(token.token_hash.encode(), idempotency_key.encode())
        return ReceiptKey(key, request_digest)
    key = _BODY_PREFIX + _digest(token.token_hash.encode(), body, user_agent.encode())
    return ReceiptKey(key, request_digest)


def find_unit(receipt: ReceiptKey, now: datetime) -> one_trip.Unit[Post | None]:
    """The post an earlier create of this request made, if its receipt still holds.

    Raises InvalidRequest (422 or 409) for an Idempotency-Key that cannot be answered:
    reused for another request, or naming a post that has since been deleted.
    """
    rows = yield _FIND, (now - DOUBLE_SEND_WINDOW, receipt.key)
    if not rows:
        return None
    row = dict(rows[0])
    digest, within_window = row.pop("receipt_digest"), row.pop("receipt_within_window")
    post: Post = Post._init_from_db(**row)
    if not receipt.explicit:
        return post if post.deleted_at is None and within_window else None
    if digest is not None and digest != receipt.request_digest:
        raise InvalidRequest(
            "this Idempotency-Key was already used for a different request; "
            "send a new key with each new post",
            status=422,
        )
    if post.deleted_at is not None:
        raise InvalidRequest(
            "the post this Idempotency-Key made has since been deleted; undelete it, "
            "or send the create with a new key to post it again",
            status=409,
        )
    return post


_FIND = (
    "SELECT r.request_digest AS receipt_digest, r.created_at >= ? AS receipt_within_window, "  # noqa: S608
    + ", ".join(f"p.{column} AS {column}" for column in Post._meta.db_fields)
    + " FROM micropub_receipts r JOIN posts p ON p.id = r.post_id WHERE r.key = ?"
)


async def find_receipt(receipt: ReceiptKey) -> Post | None:
    """`find_unit` on its own."""
    return await one_trip.run(find_unit(receipt, datetime.now(UTC)))


def record_unit(receipt: ReceiptKey, post_id: int, now: datetime) -> one_trip.Unit[None]:
    """Remember that this request made post `post_id`, replacing a spent receipt with the
    same key.

    Fails (IntegrityError) when a concurrent create recorded the key first.
    """
    if not receipt.explicit:
        # A spent receipt under the same key (too old, or its post deleted) makes way; a live
        # one stays, so of two identical creates racing here only one makes a post.
        yield (
            "DELETE FROM micropub_receipts WHERE key = ? AND (created_at < ?"
            " OR post_id IN (SELECT id FROM posts WHERE deleted_at IS NOT NULL))",
            (receipt.key, now - DOUBLE_SEND_WINDOW),
        )
    yield (
        "INSERT INTO micropub_receipts (key, post_id, created_at, request_digest)"
        " VALUES (?, ?, ?, ?)",
        (receipt.key, post_id, now, receipt.request_digest),
    )


async def end_double_send_window(post: Post) -> None:
    """Forget the implicit receipts of `post`: after a change, the same body is a new post.

    Explicit (Idempotency-Key) receipts stay: they name a request, not the content.
    """
    await MicropubReceipt.filter(post=post, key__startswith=_BODY_PREFIX).delete()
