"""The Instagram webhook: `{HEARTH_URL}syndication/instagram/webhook`.

Meta's side: https://developers.facebook.com/docs/graph-api/webhooks/getting-started
(verification request, X-Hub-Signature-256) and
https://developers.facebook.com/docs/instagram-platform/webhooks (Instagram's fields and
payload shapes).

GET is the subscription check. Meta sends `hub.mode=subscribe`, `hub.verify_token` (the Verify
Token typed into the App Dashboard) and `hub.challenge`; when the mode is `subscribe` and the
token equals `HEARTH_INSTAGRAM_VERIFY_TOKEN` (constant-time compare) the challenge is echoed as
`text/plain` (never HTML: echoing it as HTML would be reflected XSS) with 200. Everything else is
403, including every request while no verify token is configured. A check with the right token
but no challenge is 400.

POST is an event notification. The raw body is read (at most `MAX_BODY` bytes, else 413) and its
`X-Hub-Signature-256: sha256=<hex>` header checked against HMAC-SHA256(body, app secret) with
`hmac.compare_digest` *before* anything is parsed. A missing, malformed or wrong signature, or no
`HEARTH_INSTAGRAM_APP_SECRET` configured, is 403 and nothing happens. Then the JSON is parsed
(invalid JSON or an unexpected structure is 400, nothing queued); both payload shapes are read,
`entry[].changes[].{field,value}` and the flat `entry[].{field,value}` of the Instagram-Login
example, with a top-level object or a list of them. Each change of a field in `QUEUED_FIELDS`
becomes ONE durable `instagram.webhook_change` job with payload
`{field, value, entry_id, time}`; the answer is 200 at once (no Graph API call in the request).

Deduplication: Meta retries a delivery for up to 36 hours and says "Your server should handle
deduplication". The job's idempotency key is a SHA-256 of (entry id, field, canonical JSON of
value); `entry[].time` is left out because it is when Meta *sent* the notification and changes
on every retry. So a delivery replayed ten times queues each change once.

Other fields (messaging, story insights, anything new) are acknowledged with 200 and ignored:
nothing is stored, so direct messages never land in the jobs table, and Meta stops retrying.

The queued jobs are handled in `hearth.syndication.instagram.changes`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hearth.server.core import job_queue
from hearth.server.core.web import settings_of
from hearth.syndication.instagram.silo_settings import instagram

log = logging.getLogger(__name__)

KIND = "instagram.webhook_change"
PATH = "/syndication/instagram/webhook"

# Meta batches at most 1000 updates per delivery; a comment change is well under 1 KiB.
MAX_BODY = 1024 * 1024
# Fields worth a job. Others are acknowledged and dropped (see the module docstring).
COMMENT_FIELDS = frozenset({"comments", "live_comments"})
QUEUED_FIELDS = COMMENT_FIELDS | {"mentions"}
SIGNATURE_HEADER = "x-hub-signature-256"
SIGNATURE_PREFIX = "sha256="

_PLAIN_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class BadPayload(Exception):
    """A correctly signed body that is not a webhook payload: answered 400."""


class TooLarge(Exception):
    """The body is over `MAX_BODY`: answered 413."""


def _plain(text: str, status_code: int = 200) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status_code, headers=_PLAIN_HEADERS)


def _forbidden(reason: str) -> PlainTextResponse:
    return _plain(f"Forbidden: {reason}\n", 403)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# -- GET: subscription check ---------------------------------------------------------------


def verify_subscription(request: Request) -> Response:
    """Echo `hub.challenge` if mode and verify token match, else 403."""
    token = instagram(settings_of(request)).verify_token
    params = request.query_params
    if token is None:
        return _forbidden("no Instagram verify token is configured")
    if params.get("hub.mode") != "subscribe":
        return _forbidden("hub.mode must be subscribe")
    if not _same(params.get("hub.verify_token", ""), str(token)):
        return _forbidden("wrong hub.verify_token")
    challenge = params.get("hub.challenge")
    if not challenge:
        return _plain("hub.challenge is missing\n", 400)
    return _plain(challenge)


# -- POST: event notifications --------------------------------------------------------------


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, or TooLarge as soon as it (or its declared length) passes `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


def signature_of(request: Request) -> bytes | None:
    """The digest from a well-formed `X-Hub-Signature-256: sha256=<64 hex>`, else None."""
    values = request.headers.getlist(SIGNATURE_HEADER)
    if len(values) != 1:
        return None
    value = values[0].strip()
    if not value.startswith(SIGNATURE_PREFIX):
        return None
    digest = value[len(SIGNATURE_PREFIX) :]
    if len(digest) != 64:
        return None
    try:
        return bytes.fromhex(digest)
    except ValueError:
        return None


def signature_valid(body: bytes, digest: bytes, secret: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, digest)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_key(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{prefix}:{digest}"


def change_key(entry_id: str | None, field: str, value: Any) -> str:
    """The idempotency key of one change: the same change in any delivery maps to it."""
    return hashed_key(KIND, entry_id or "", field, canonical_json(value))


def _entry_id(entry: dict[str, Any]) -> str | None:
    raw = entry.get("id")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise BadPayload("entry.id must be a string")
    return str(raw)


def _change(entry_id: str | None, sent: Any, change: Any) -> dict[str, Any]:
    if not isinstance(change, dict):
        raise BadPayload("a change must be an object")
    field = change.get("field")
    if not isinstance(field, str) or not field:
        raise BadPayload("a change needs a field")
    return {"field": field, "value": change.get("value"), "entry_id": entry_id, "time": sent}


def parse_changes(document: Any) -> list[dict[str, Any]]:
    """Every change in a webhook payload, either shape, as `{field, value, entry_id, time}`."""
    notifications = document if isinstance(document, list) else [document]
    changes: list[dict[str, Any]] = []
    for notification in notifications:
        if not isinstance(notification, dict):
            raise BadPayload("a notification must be an object")
        entries = notification.get("entry", [])
        if not isinstance(entries, list):
            raise BadPayload("entry must be a list")
        for entry in entries:
            if not isinstance(entry, dict):
                raise BadPayload("an entry must be an object")
            entry_id, sent = _entry_id(entry), entry.get("time")
            nested = entry.get("changes")
            if nested is not None:
                if not isinstance(nested, list):
                    raise BadPayload("changes must be a list")
                changes.extend(_change(entry_id, sent, change) for change in nested)
            if "field" in entry:
                # The flat shape of Meta's Instagram-Login example.
                changes.append(_change(entry_id, sent, entry))
    return changes


async def receive_notification(request: Request) -> Response:
    """Verify, parse and queue one delivery; 200 once every wanted change is queued."""
    secret = instagram(settings_of(request)).app_secret
    if secret is None:
        return _forbidden("no Instagram app secret is configured")
    digest = signature_of(request)
    if digest is None:
        return _forbidden("missing or malformed X-Hub-Signature-256")
    try:
        body = await read_body(request)
    except TooLarge:
        return _plain(f"the request body is larger than {MAX_BODY} bytes\n", 413)
    if not signature_valid(body, digest, str(secret)):
        return _forbidden("X-Hub-Signature-256 does not match the body")
    try:
        document = json.loads(body)
        # A lone surrogate (`"\ud800"`) is valid JSON but not text: it can be neither hashed
        # into a job key nor stored, so it is refused here (UnicodeEncodeError; it was a 500).
        canonical_json(document).encode()
        changes = parse_changes(document)
    # JSONDecodeError, UnicodeDecodeError and UnicodeEncodeError are ValueErrors; json.loads
    # raises RecursionError for arrays nested thousands deep (a signed `[[[...]]]` was a 500).
    except (ValueError, RecursionError):
        return _plain("the body is not valid JSON\n", 400)
    except BadPayload as exc:
        return _plain(f"not a webhook payload: {exc}\n", 400)
    queued = 0
    for change in changes:
        if change["field"] not in QUEUED_FIELDS:
            log.info("instagram webhook: ignoring a %r change", change["field"][:64])
            continue
        key = change_key(change["entry_id"], change["field"], change["value"])
        await job_queue.enqueue(KIND, change, key=key)
        queued += 1
    return _plain(f"queued {queued} of {len(changes)} changes\n")


async def webhook(request: Request) -> Response:
    if request.method == "POST":
        return await receive_notification(request)
    return verify_subscription(request)


routes = [Route(PATH, webhook, methods=["GET", "POST"], name="instagram_webhook")]
