"""The fake's in-memory account, media and comments, and the switches tests flip on it.

`FakeState` is what the endpoints read and change; `FakeInstagram` (in `fake_routing`) is the
same state with the ASGI app that serves it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from hearth.syndication.instagram.fake.fake_records import Failure, FakeComment, FakeMedia


def timestamp(when: datetime | None = None) -> str:
    """`when` (default: now) in the Graph API's `2024-05-01T12:00:00+0000` form."""
    return (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S+0000")


class FakeState:
    """In-memory state of one professional account, its media and comments, plus switches."""

    def __init__(self, base: str, *, app_id: str = "990602627938098") -> None:
        self.base = base.rstrip("/") + "/"
        self.app_id = app_id
        self.app_secret = secrets.token_hex(16)
        self.user_id = "17841400000000001"
        self.username = "hearth_owner"
        self.token = "IGAA" + secrets.token_urlsafe(24)
        self.tokens = {self.token}
        self.short_tokens: set[str] = set()
        self.codes: dict[str, str] = {}  # code -> redirect_uri
        self.media: list[FakeMedia] = []  # newest first
        self.comments: dict[str, FakeComment] = {}
        self.failures: list[Failure] = []
        self.usage_percent: float | None = None
        self.regain_minutes = 0
        self.flat_oauth_response = False
        self.deny_next_authorization = False  # the owner presses "Cancel" on /oauth/authorize
        self.requests: list[tuple[str, str]] = []  # (method, path) of every API call
        self._ids = itertools.count(17900000000000001)
        # hold_downloads(): `/cdn/` answers wait until released; `download_held` says one waits.
        self.downloads_open = threading.Event()
        self.downloads_open.set()
        self.download_held = threading.Event()

    # Test controls -------------------------------------------------------------------------

    def add_media(
        self,
        media_type: str = "IMAGE",
        *,
        caption: str | None = None,
        children: tuple[str, ...] = (),
        product: str | None = None,
        alt_text: str | None = None,
        like_count: int = 0,
        when: datetime | None = None,
    ) -> str:
        """Post a media "in the app"; `children` lists a carousel's item types. Returns its id."""
        item = FakeMedia(
            id=self._next_id(), media_type=media_type, caption=caption, alt_text=alt_text,
            media_product_type=product or ("REELS" if media_type == "VIDEO" else "FEED"),
            timestamp=timestamp(when), like_count=like_count,
            shortcode=base64.urlsafe_b64encode(secrets.token_bytes(8)).decode().rstrip("="),
        )  # fmt: skip
        for kind in children:
            item.children.append(
                FakeMedia(self._next_id(), kind, timestamp=item.timestamp, is_child=True)
            )
        self.media.insert(0, item)
        return item.id

    def add_comment(
        self, media_id: str, text: str, *, username: str = "friend", parent_id: str | None = None
    ) -> str:
        """Someone comments (or replies, with `parent_id`) on a media. Returns the comment id."""
        from_id = str(int(hashlib.sha256(username.encode()).hexdigest()[:12], 16))
        comment = FakeComment(
            self._next_id(), media_id, text, username, from_id, timestamp(), parent_id
        )
        self.comments[comment.id] = comment
        return comment.id

    def edit_comment(self, comment_id: str, text: str) -> None:
        self.comments[comment_id].text = text

    def delete_comment(self, comment_id: str) -> None:
        for reply in [c.id for c in self.comments.values() if c.parent_id == comment_id]:
            del self.comments[reply]
        del self.comments[comment_id]

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        error_code: int | None = None,
        subcode: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next `n` API calls fail with `status` and (if given) Meta error `code`."""
        self.failures += [Failure(status, error_code, subcode, retry_after) for _ in range(n)]

    def set_usage(self, percent: float | None, *, regain_minutes: int = 0) -> None:
        """Send usage headers at `percent` (None: none) on every API response."""
        self.usage_percent, self.regain_minutes = percent, regain_minutes

    def hold_downloads(self) -> None:
        """Make `/cdn/` requests wait (e.g. to kill the poller mid-copy) until released."""
        self.download_held.clear()
        self.downloads_open.clear()

    def release_downloads(self) -> None:
        self.downloads_open.set()

    def expire_token(self) -> None:
        """Every token stops working with code 190, subcode 463 (expired)."""
        self.tokens.clear()

    def new_code(self, redirect_uri: str) -> str:
        """An authorization code, as the authorize redirect would carry it."""
        code = "AQB" + secrets.token_urlsafe(16)
        self.codes[code] = redirect_uri
        return code

    def webhook_payload(self, comment_id: str, *, shape: str = "changes") -> Any:
        """A `comments` notification for a comment, as `changes` or the flat shape.

        The flat shape is Meta's example in
        https://developers.facebook.com/docs/instagram-platform/webhooks; deliveries seen in
        practice carry `entry[].changes[]`.
        """
        comment = self.comments[comment_id]
        value: dict[str, Any] = {
            "id": comment.id,
            "from": {"id": comment.from_id, "username": comment.username},
            "text": comment.text,
            "media": {"id": comment.media_id, "media_product_type": "FEED"},
        }
        if comment.parent_id:
            value["parent_id"] = comment.parent_id
        entry: dict[str, Any] = {"id": self.user_id, "time": int(time.time())}
        if shape == "changes":
            entry["changes"] = [{"field": "comments", "value": value}]
            return {"object": "instagram", "entry": [entry]}
        return [{"object": "instagram", "entry": [{**entry, "field": "comments", "value": value}]}]

    def signed_webhook(self, payload: Any) -> tuple[bytes, str]:
        """The raw body and its `X-Hub-Signature-256` header, signed with the app secret."""
        body = orjson.dumps(payload)
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return body, f"sha256={digest}"

    # Lookups for the endpoints ----------------------------------------------------------------

    def media_by_id(self, media_id: str) -> FakeMedia | None:
        """A top-level media or a carousel child, or None."""
        for item in self.media:
            if item.id == media_id:
                return item
            for child in item.children:
                if child.id == media_id:
                    return child
        return None

    def comments_of(self, media_id: str) -> list[FakeComment]:
        # "reverse chronological order" and "Returns only top-level comments" (the comments edge).
        found = [c for c in self.comments.values() if c.media_id == media_id and not c.parent_id]
        return sorted(found, key=lambda c: int(c.id), reverse=True)

    def replies_of(self, comment_id: str) -> list[FakeComment]:
        return sorted(
            (c for c in self.comments.values() if c.parent_id == comment_id),
            key=lambda c: int(c.id),
        )

    def _next_id(self) -> str:
        return str(next(self._ids))
