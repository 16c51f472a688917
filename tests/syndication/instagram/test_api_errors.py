"""Instagram's own error codes -1 and -2: "server error. Try again" and "takes too long to
download the media" are worth retrying.

The table: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from hearth.server.core.job_queue import PermanentFailure, Retry
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.api_errors import TemporaryError, error_from_response, job_error
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.fake import FakeInstagram


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


def graph_error(code: int, subcode: int, **extra: object) -> httpx.Response:
    """A Graph API error answer as Meta documents it, with HTTP 400 as in the table."""
    error = {"message": "Instagram server error. Try again.", "type": "OAuthException"}
    error |= {"code": code, "error_subcode": subcode, "fbtrace_id": "A6LJylpZRKw2", **extra}
    return httpx.Response(400, content=orjson.dumps({"error": error}))


@pytest.mark.parametrize(("code", "subcode"), [(-1, 2207001), (-2, 2207003)])
async def test_negative_codes_are_retried(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, code: int, subcode: int
) -> None:
    """A 400 with code -1 or -2 and no `is_transient` retries the job instead of killing it."""
    fake.fail_next(status=400, error_code=code, subcode=subcode)
    with pytest.raises(TemporaryError) as caught:
        await InstagramClient(http, settings, fake.token).me()
    assert Retry is type(job_error(caught.value))


@pytest.mark.parametrize("code", [-1, -2])
def test_negative_code_said_not_transient_is_permanent(code: int) -> None:
    """When the error itself says `is_transient: false`, retrying would not help."""
    error = error_from_response(graph_error(code, 2207020, is_transient=False), "GET /x")
    assert PermanentFailure is type(job_error(error))
