"""hearth.micropub.errors: each error's spec code, HTTP status and JSON body (W3C Micropub §3.8)."""

from __future__ import annotations

import pytest

from hearth.micropub.errors import (
    Forbidden,
    InsufficientScope,
    InvalidRequest,
    MicropubError,
    RequestTooLarge,
    Unauthorized,
)


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (InvalidRequest("x"), "invalid_request", 400),
        (RequestTooLarge("x"), "invalid_request", 413),
        (Unauthorized("x"), "unauthorized", 401),
        (InsufficientScope("x", scope="create"), "insufficient_scope", 401),
        (Forbidden("x"), "forbidden", 403),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_code_and_status(error: MicropubError, code: str, status: int) -> None:
    """Each class answers with its spec code and status (insufficient_scope is 401, 804)."""
    assert (error.error, error.status) == (code, status)


def test_all_are_micropub_errors() -> None:
    """The endpoint can catch every refusal with one except clause."""
    classes = (InvalidRequest, RequestTooLarge, Unauthorized, InsufficientScope, Forbidden)
    assert all(issubclass(cls, MicropubError) for cls in classes)


def test_to_json_with_description() -> None:
    """The body has error and error_description."""
    body = InvalidRequest("url is missing").to_json()
    assert body == {"error": "invalid_request", "error_description": "url is missing"}


def test_to_json_without_description() -> None:
    """An empty description is left out of the body."""
    assert Unauthorized().to_json() == {"error": "unauthorized"}


def test_to_json_with_scope() -> None:
    """insufficient_scope names the scope the request needed."""
    body = InsufficientScope("this token cannot create posts", scope="create").to_json()
    assert body == {
        "error": "insufficient_scope",
        "error_description": "this token cannot create posts",
        "scope": "create",
    }


def test_status_override() -> None:
    """An instance may carry another status than its class default."""
    assert Forbidden("gone", status=410).status == 410


def test_message_is_the_description() -> None:
    """str() of an error is its description, for logs."""
    assert str(InvalidRequest("bad h")) == "bad h"
