"""Files the core's media store refuses, answered as Micropub errors over HTTP.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6),
https://www.w3.org/TR/micropub/#uploading-files (§3.3.1) and
https://www.w3.org/TR/micropub/#error-response (§3.8). Both the media endpoint and the
multipart `photo`/`video`/`audio` parts of a create go through
`hearth.server.core.media.ingest.ingest_upload`; each kind of refusal it raises comes out
(`hearth.micropub.media_endpoint.refusal_error`) with the same status (413 for too-large, 400
otherwise), `invalid_request`, and the refusal's reason as `error_description`, and nothing
is stored.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from hearth.micropub import media_endpoint, uploads
from hearth.micropub.errors import InvalidRequest, RequestTooLarge
from hearth.server.core.media.refusals import (
    MediaRefused,
    MediaTooLarge,
    RefusalKind,
    RemoteUnavailable,
    UnreadableMedia,
    UnsupportedMedia,
)
from hearth.server.core.models import Media, Post
from hearth.server.core.settings import Settings
from tests.asgi_client import app_client
from tests.conftest import seed_database
from tests.micropub import endpoint_helpers
from tests.micropub.media_helpers import token, upload
from tests.server.core.media.media_data.factory import jpeg
from tests.server.core.media.media_data.movies import MOOV_TYPE_AT, movie

REFUSALS = [
    (MediaTooLarge("the file is larger than 100 bytes"), 413),
    (UnsupportedMedia("unsupported media type: SVG is not accepted (it can carry scripts)"), 400),
    (UnreadableMedia("the file is not a valid JPEG image"), 400),
    (RemoteUnavailable("https://x.example/a.jpg: 404", status=404, retryable=False), 400),
]
IDS = [str(refusal.kind) for refusal, _ in REFUSALS]


def test_every_kind_is_answered() -> None:
    """Each kind of refusal the media store knows is among those tested here."""
    assert set(RefusalKind) == {refusal.kind for refusal, _ in REFUSALS}


@pytest.mark.parametrize(("refusal", "status"), REFUSALS, ids=IDS)
def test_refusal_error_of_each_kind(refusal: MediaRefused, status: int) -> None:
    """too-large is RequestTooLarge (413), every other kind InvalidRequest (400)."""
    error = media_endpoint.refusal_error(refusal)
    expected = RequestTooLarge if status == 413 else InvalidRequest
    assert (expected, status) == (type(error), error.status)
    assert {"error": "invalid_request", "error_description": refusal.reason} == error.to_json()


def refusing(refusal: MediaRefused) -> Any:
    async def ingest_upload(*args: Any) -> Media:
        raise refusal

    return ingest_upload


async def nothing_stored(settings: Settings) -> bool:
    files = list(settings.media_dir.iterdir()) if settings.media_dir.exists() else []
    return 0 == await Post.all().count() == await Media.all().count() == len(files)


@pytest.mark.parametrize(("refusal", "status"), REFUSALS, ids=IDS)
async def test_media_endpoint_answers_each_kind(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    refusal: MediaRefused,
    status: int,
) -> None:
    """The media endpoint answers a refusal with its status and reason."""
    monkeypatch.setattr(media_endpoint, "ingest_upload", refusing(refusal))
    response = await upload(client, jpeg(), secret=await token())
    assert status == response.status_code
    assert {"error": "invalid_request", "error_description": refusal.reason} == response.json()


@pytest.mark.parametrize(("refusal", "status"), REFUSALS, ids=IDS)
async def test_create_answers_each_kind(
    client: httpx.AsyncClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    refusal: MediaRefused,
    status: int,
) -> None:
    """A create with an uploaded photo answers a refusal the same way, and makes no post."""
    monkeypatch.setattr(uploads, "ingest_upload", refusing(refusal))
    response = await client.post(
        endpoint_helpers.ENDPOINT,
        data={"content": "x"},
        files={"photo": ("a.jpg", jpeg(), "image/jpeg")},
        headers=await endpoint_helpers.bearer(),
    )
    assert status == response.status_code
    assert {"error": "invalid_request", "error_description": refusal.reason} == response.json()
    assert await nothing_stored(settings)


LIMIT = 4000


@pytest.mark.parametrize(
    ("data", "status", "description"),
    [
        (jpeg() + bytes(LIMIT), 413, f"the file is larger than {LIMIT} bytes"),
        (b"", 400, "the file is empty"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            400,
            "unsupported media type: SVG is not accepted (it can carry scripts)",
        ),
        (jpeg()[:200], 400, "the file is not a valid JPEG image"),
        (
            movie()[: MOOV_TYPE_AT + 200],
            400,
            "the file's boxes are broken, so its location cannot be removed: "
            f"/moov at byte {MOOV_TYPE_AT - 4}: it runs past the end of its parent",
        ),
    ],
    ids=["too-large", "empty", "svg", "truncated-jpeg", "broken-mov"],
)
async def test_real_refusals_keep_their_status_and_description(
    settings: Settings, migrated_sqlite: Path, data: bytes, status: int, description: str
) -> None:
    """Real files refused by the store: the exact answers clients have always had."""
    seed_database(settings, migrated_sqlite)
    async with app_client(replace(settings, media_max_bytes=LIMIT)) as client:
        response = await upload(client, data, secret=await token())
        assert status == response.status_code
        assert {"error": "invalid_request", "error_description": description} == response.json()
        assert await nothing_stored(settings)
