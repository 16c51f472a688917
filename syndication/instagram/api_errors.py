"""Instagram API errors, read from Meta's error object and the usage headers.

The Graph API answers a failed call with an error object
(https://developers.facebook.com/docs/graph-api/guides/error-handling,
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes):

    {"error": {"message": ..., "type": "OAuthException", "code": 190, "error_subcode": 463,
               "is_transient": false, "fbtrace_id": ...}}

and the OAuth host (api.instagram.com, which exchanges the code) with a flat one:
`{"error_type": "OAuthException", "code": 400, "error_message": ...}`. Both become one of

    InstagramError            anything else (bad id, permission, bad request): do not retry
    ├── TokenInvalid          code 190: expired, revoked or invalid; the owner must reconnect
    ├── RateLimited           codes 4, 17, 32, 613, 80002 or usage at 100%; wait
    └── TemporaryError        5xx, timeouts, transport errors, `is_transient`, codes -1/-2
                              (unless `is_transient: false`); retry with backoff

Messages never carry the access token or the app secret: the client redacts them first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from hearth.server.core.http import redact_secrets, retry_after_seconds
from hearth.server.core.job_queue import PermanentFailure, Retry

# Throttling codes: 4 app, 17 user, 32 page, 613 custom, 80002 Instagram BUC.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80002})
# Graph API "API Unknown" and "API Service": temporary by Meta's error-handling guide.
TRANSIENT_CODES = frozenset({1, 2})
# Instagram's "server error. Try again" (-1) and "takes too long to download the media" (-2)
# (Instagram's error-code table): temporary unless the error itself says `is_transient: false`.
RETRY_CODES = frozenset({-1, -2})
TOKEN_CODES = frozenset({190})
# A usage header at or above this percentage means "stop now"; above PAUSE_PERCENT, slow down.
LIMIT_PERCENT = 100.0
PAUSE_PERCENT = 90.0
# Platform limits use a rolling one-hour window
# (https://developers.facebook.com/docs/graph-api/overview/rate-limiting); with no estimate
# from Meta we wait a sixth of it and look again rather than parking the work for the whole hour.
DEFAULT_PAUSE_SECONDS = 600.0
# The reasons behind code 190, by subcode (Graph API error-handling guide).
TOKEN_SUBCODES = {
    458: "the app is no longer authorised (revoked)",
    459: "the account is checkpointed: log in on instagram.com",
    460: "the password changed",
    463: "the token expired",
    464: "the account is unconfirmed",
    467: "the token is invalid",
}


class InstagramError(Exception):
    """An Instagram API call failed; `code`, `subcode` and `status` say how, when known."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode

    @property
    def missing(self) -> bool:
        """Code 100, subcode 33: "Object with ID ... does not exist" (deleted, or never was)."""
        return (self.code, self.subcode) == (100, 33)


class TokenInvalid(InstagramError):
    """Code 190: the token expired or was revoked; only a new connection helps."""

    @property
    def reason(self) -> str:
        return TOKEN_SUBCODES.get(self.subcode or 0, "the token is not valid")


class RateLimited(InstagramError):
    """Instagram throttles us: wait `retry_after` seconds before the next call."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TemporaryError(InstagramError):
    """Instagram or the network failed for now; retry later (after `retry_after` if given)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Usage:
    """The highest percentage in the usage headers, and Meta's estimate of the wait, if any."""

    percent: float
    regain_seconds: float | None = None

    def pause_seconds(self) -> float:
        """How long to wait before the next call: 0 until usage passes PAUSE_PERCENT."""
        if self.regain_seconds:
            return self.regain_seconds
        return DEFAULT_PAUSE_SECONDS if self.percent >= PAUSE_PERCENT else 0.0


def redact(text: str, *secrets: str) -> str:
    """`text` without the given secrets and without any `access_token=` style parameter."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return redact_secrets(text)


def usage_from_headers(headers: httpx.Headers) -> Usage | None:
    """Read `X-App-Usage` and `X-Business-Use-Case-Usage`; None when neither is there."""
    percents: list[float] = []
    regain: list[float] = []
    for value in _json_header(headers, "X-App-Usage"):
        percents += _percentages(value)
    for value in _json_header(headers, "X-Business-Use-Case-Usage"):
        for entries in value.values() if isinstance(value, dict) else ():
            for entry in entries if isinstance(entries, list) else ():
                if not isinstance(entry, dict):
                    continue
                percents += _percentages(entry)
                minutes = entry.get("estimated_time_to_regain_access")
                if isinstance(minutes, int | float) and minutes > 0:
                    regain.append(float(minutes) * 60)
    if not percents:
        return None
    return Usage(max(percents), max(regain) if regain else None)


def error_from_response(response: httpx.Response, message_prefix: str) -> InstagramError:
    """The typed error for a failed response, its message prefixed (e.g. with method and path)."""
    body = _json_body(response)
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else body
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    text = str(error.get("message") or error.get("error_message") or response.reason_phrase)
    message = f"{message_prefix}: HTTP {response.status_code}"
    message += f", code {code}" + (f"/{subcode}" if subcode else "") if code is not None else ""
    message += f": {text}"
    details = {"status": response.status_code, "code": code, "subcode": subcode}
    usage = usage_from_headers(response.headers)
    if code in TOKEN_CODES:
        return TokenInvalid(message, **details)
    if (
        code in RATE_LIMIT_CODES
        or response.status_code == 429
        or (usage and usage.percent >= LIMIT_PERCENT)
    ):
        wait = retry_after_seconds(response) or (usage and usage.regain_seconds)
        return RateLimited(message, retry_after=wait or DEFAULT_PAUSE_SECONDS, **details)
    transient = error.get("is_transient")
    if (
        response.status_code >= 500
        or transient is True
        or code in TRANSIENT_CODES
        or (code in RETRY_CODES and transient is not False)
    ):
        return TemporaryError(message, retry_after=retry_after_seconds(response), **details)
    return InstagramError(message, **details)


def job_error(error: InstagramError) -> Exception:
    """What a job handler raises for `error`: `Retry` when waiting helps, else `PermanentFailure`.

    A TokenInvalid is permanent for the job; the caller also marks the account.
    """
    if isinstance(error, RateLimited | TemporaryError):
        return Retry(str(error), retry_after=error.retry_after)
    return PermanentFailure(str(error))


def _json_header(headers: httpx.Headers, name: str) -> list[Any]:
    try:
        return [orjson.loads(value) for value in headers.get_list(name)]
    except orjson.JSONDecodeError:
        return []


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _percentages(value: Any) -> list[float]:
    if not isinstance(value, dict):
        return []
    keys = ("call_count", "total_time", "total_cputime")
    return [float(value[key]) for key in keys if isinstance(value.get(key), int | float)]


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
