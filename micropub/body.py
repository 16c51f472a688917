"""Reading a Micropub POST body within size limits: JSON, form-encoded or multipart.

Spec: https://www.w3.org/TR/micropub/#request (§3: form-encoded, multipart and JSON bodies),
https://www.w3.org/TR/micropub/#uploading-files (§3.3.1), https://www.w3.org/TR/micropub/#json-syntax
(§3.3.2), https://www.w3.org/TR/micropub/#error-response (§3.8)

Every failure is a `MicropubError`, so the endpoint answers with a JSON error: a body over
the limit is 413 (checked on `Content-Length` first, then while reading), a missing or
unsupported Content-Type, malformed multipart or non-UTF-8 form data 400.

Form-encoded bodies are decoded here as UTF-8 with `parse_qsl`: Starlette's form parser
decodes raw bytes as Latin-1, which turns `content=café` sent unencoded (as curl does)
into mojibake. Multipart bodies go through `Request.form` with Starlette's part limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Message

from hearth.micropub.errors import InvalidRequest, RequestTooLarge
from hearth.server.core.settings import Settings

__all__ = ["Body", "Limits", "read_body", "syntax_of"]

Syntax = Literal["json", "form", "multipart"]
_SYNTAXES: dict[str, Syntax] = {
    "application/json": "json",
    "application/x-www-form-urlencoded": "form",
    "multipart/form-data": "multipart",
}
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much one request may send."""

    # A whole JSON or form-encoded body, and one text part of a multipart body.
    text: int = _MIB
    # A whole multipart body, files included.
    multipart: int = 26 * _MIB
    files: int = 20
    fields: int = 1000

    @classmethod
    def for_settings(cls, settings: Settings) -> Limits:
        """The media upload limit, plus room for the text parts, caps a multipart body."""
        return cls(multipart=settings.media_max_bytes + cls.text)


@dataclass
class Body:
    """A read body: the raw JSON, or the text fields and file parts of a form."""

    syntax: Syntax
    raw: bytes = b""
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[str, UploadFile]] = field(default_factory=list)

    @property
    def access_tokens(self) -> list[str]:
        """The `access_token` form fields (§5.1); JSON bodies carry none."""
        return [value for key, value in self.fields if key == "access_token"]


def syntax_of(request: Request) -> Syntax:
    """The body syntax named by the Content-Type (parameters ignored), or 400."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    syntax = _SYNTAXES.get(media_type)
    if syntax is None:
        given = media_type or "none"
        raise InvalidRequest(
            f"unsupported Content-Type ({given}): send application/json, "
            "application/x-www-form-urlencoded or multipart/form-data"
        )
    return syntax


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"the request body is larger than {limit} bytes")


def _limited(request: Request, limit: int) -> Request:
    """The request with a receive channel that stops reading past `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    total = 0

    async def receive() -> Message:
        nonlocal total
        message = await request.receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise _too_large(limit)
        return message

    return Request(request.scope, receive)


def _form_fields(raw: bytes, limits: Limits) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=limits.fields,
        )
    except UnicodeDecodeError:
        raise InvalidRequest("the form body is not UTF-8") from None
    except ValueError:
        raise RequestTooLarge(f"the form has more than {limits.fields} fields") from None


def _multipart_error(exc: HTTPException) -> InvalidRequest:
    # Starlette's MultiPartException messages, turned into an HTTPException by Request.form.
    detail = str(exc.detail)
    if "exceeded maximum size" in detail or detail.startswith("Too many"):
        return RequestTooLarge(detail)
    return InvalidRequest(f"malformed multipart body: {detail}")


@asynccontextmanager
async def read_body(request: Request, limits: Limits) -> AsyncIterator[Body]:
    """Read the body for the life of the block (uploaded files are closed after it)."""
    syntax = syntax_of(request)
    if syntax != "multipart":
        raw = await _limited(request, limits.text).body()
        if syntax == "json":
            yield Body("json", raw=raw)
        else:
            yield Body("form", fields=_form_fields(raw, limits))
        return
    try:
        form = await _limited(request, limits.multipart).form(
            max_files=limits.files, max_fields=limits.fields, max_part_size=limits.text
        )
    except HTTPException as exc:
        raise _multipart_error(exc) from None
    try:
        items = form.multi_items()
        yield Body(
            "multipart",
            fields=[(key, value) for key, value in items if isinstance(value, str)],
            files=[
                (key, value)
                for key, value in items
                # A browser's empty file input arrives as a nameless, empty part.
                if isinstance(value, UploadFile) and (value.filename or value.size)
            ],
        )
    finally:
        await form.close()
