"""Plumbing every endpoint shares: injected failures, token checks, errors and usage headers."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from hearth.syndication.instagram.fake.fake_state import FakeState


def usage_headers(fake: FakeState) -> dict[str, str]:
    """`X-App-Usage` and `X-Business-Use-Case-Usage`, once `set_usage` was called.

    As https://developers.facebook.com/docs/graph-api/overview/rate-limiting documents them.
    """
    if fake.usage_percent is None:
        return {}
    usage = {"call_count": fake.usage_percent, "total_time": 1, "total_cputime": 1}
    buc = {**usage, "type": "instagram", "estimated_time_to_regain_access": 0}
    buc["estimated_time_to_regain_access"] = fake.regain_minutes
    return {
        "X-App-Usage": orjson.dumps(usage).decode(),
        "X-Business-Use-Case-Usage": orjson.dumps({fake.user_id: [buc]}).decode(),
    }


def json_response(fake: FakeState, data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status, headers=usage_headers(fake))


def error_response(
    fake: FakeState,
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    **extra: Any,
) -> Response:
    """Meta's error object (https://developers.facebook.com/docs/graph-api/guides/error-handling)."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    error |= {"fbtrace_id": secrets.token_urlsafe(9), **extra}
    headers = usage_headers(fake)
    if extra.get("retry_after"):
        headers["Retry-After"] = str(error.pop("retry_after"))
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def injected_failure(fake: FakeState) -> Response | None:
    """The next failure queued by `fail_next`, as Meta would answer it, or None."""
    if not fake.failures:
        return None
    failure = fake.failures.pop(0)
    code = failure.code
    if code is None:
        code = 4 if failure.status == 429 else 2
    if code in (4, 17, 32, 613, 80002):
        message = f"({code}) Application request limit reached"
    else:
        message = "An unexpected error has occurred. Please retry your request later."
    transient = {"is_transient": True} if failure.status >= 500 else {}
    return error_response(
        fake, failure.status, code, message, subcode=failure.subcode,
        retry_after=failure.retry_after, **transient,
    )  # fmt: skip


async def request_params(request: Request) -> dict[str, str]:
    """The query parameters, plus the form fields of a POST."""
    params = dict(request.query_params)
    if request.method == "POST":
        params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return params


async def guard(fake: FakeState, request: Request) -> tuple[dict[str, str], Response | None]:
    """The call's parameters, or the injected failure or token error to answer with."""
    params = await request_params(request)
    injected = injected_failure(fake)
    if injected is not None:
        return params, injected
    token = params.get("access_token", "")
    if token not in fake.tokens:
        message = "Error validating access token: Session has expired"
        if not token:
            message = "An active access token must be used to query information"
        return params, error_response(fake, 400, 190, message, subcode=463 if token else None)
    return params, None
