"""Secrets in URLs never reach the logs: not httpx's request lines, not the access log."""

from __future__ import annotations

import logging

import httpx
import pytest
from uvicorn.logging import AccessFormatter

from hearth.server.core.http import create_http_client, install_log_redaction, redact_secrets
from hearth.server.core.settings import Settings


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("/signin/callback?code=abc123&state=xyz789&iss=https%3A%2F%2Fa%2F", "iss=https"),
        ("/admin/instagram/callback?code=abc123&state=xyz789", "/admin/instagram/callback"),
        ("/instagram/webhook?hub.mode=subscribe&hub.verify_token=abc123&hub.challenge=1",
         "hub.challenge=1"),
        ("/micropub?access_token=abc123&q=config", "q=config"),
        ("/indieauth/authorize?code_challenge=kept-on-purpose&state=xyz789", "kept-on-purpose"),
        ("/admin/login?next=%2Findieauth%2Fauthorize%3Fclient_id%3Da%26state%3Dxyz789%26scope%3Dc",
         "%26scope%3Dc"),
        ("/admin/login?next=%2Fcb%3Fcode%3Dabc123", "next=%2Fcb"),
    ],
)  # fmt: skip
def test_secret_query_values_are_redacted(url: str, kept: str) -> None:
    redacted = redact_secrets(url)
    assert "abc123" not in redacted
    assert "xyz789" not in redacted
    assert kept in redacted


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_the_access_log_is_redacted_once_a_client_exists(settings: Settings) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    async with create_http_client(settings, transport=transport):
        pass
    access = logging.getLogger("uvicorn.access")
    # A handler of its own: uvicorn's logging config (other tests serve with uvicorn) stops
    # this logger from propagating to pytest's capture.
    seen = _Lines()
    access.addHandler(seen)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5555", "GET", "/signin/callback?code=abc123&state=xyz789", "1.1", 302,
        )  # fmt: skip
    finally:
        access.removeHandler(seen)
        access.setLevel(level)
    assert seen.lines == [
        '127.0.0.1:5555 - "GET /signin/callback?code=[redacted]&state=[redacted] HTTP/1.1" 302'
    ]


def test_the_access_log_formatter_still_gets_its_arguments(settings: Settings) -> None:
    """uvicorn's AccessFormatter unpacks the record's arguments: they stay a tuple."""
    install_log_redaction()
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", "/cb?code=abc123&state=xyz789", "1.1", 200), None,
    )  # fmt: skip
    for log_filter in logging.getLogger("uvicorn.access").filters:
        log_filter.filter(record)
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)
    assert line == '127.0.0.1:5555 - "GET /cb?code=[redacted]&state=[redacted] HTTP/1.1" 200 OK'
