"""Audio and video uploads: recognised by their container's magic bytes, stored as sent and
served with the exact Content-Type (hearth.server.core.media.images.detect_av_type, whose
look-alikes are tested in tests/server/core/media/test_images.py).

Spec: https://www.w3.org/TR/micropub/#media-endpoint
"""

from __future__ import annotations

import httpx
import pytest

from tests.micropub.media_helpers import token, upload

PADDING = bytes(range(256)) * 4


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body


SAMPLES = {
    "mp4": (ftyp(b"isom", b"isom", b"avc1") + PADDING, "video/mp4"),
    "m4a": (ftyp(b"M4A ", b"M4A ", b"mp42") + PADDING, "audio/mp4"),
    "mov": (ftyp(b"qt  ", b"qt  ") + PADDING, "video/quicktime"),
    "webm": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + PADDING, "video/webm"),
    "mkv": (b"\x1a\x45\xdf\xa3\xa3\x42\x82\x88matroska" + PADDING, "video/x-matroska"),
    "ogg": (b"OggS\x00\x02" + b"\0" * 22 + b"\x01\x1eOpusHead" + PADDING, "audio/ogg"),
    "mp3-id3": (b"ID3\x04\x00\x00\x00\x00\x00\x00" + PADDING, "audio/mpeg"),
    "mp3-frame": (b"\xff\xfb\x90\x64" + PADDING, "audio/mpeg"),
    "aac": (b"\xff\xf1\x50\x80" + PADDING, "audio/aac"),
    "wav": (b"RIFF\x24\x08\x00\x00WAVEfmt " + PADDING, "audio/wav"),
    "flac": (b"fLaC\x00\x00\x00\x22" + PADDING, "audio/flac"),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
async def test_container_is_served_with_exact_type(client: httpx.AsyncClient, kind: str) -> None:
    """Each container, sent as application/octet-stream, is served byte for byte with its type."""
    data, content_type = SAMPLES[kind]
    response = await upload(client, data, secret=await token(), filename=f"clip.{kind}")
    assert 201 == response.status_code, response.text
    served = await client.get(response.headers["location"])
    assert content_type == served.headers["content-type"]
    assert data == served.content


async def test_unknown_container_upload_is_400(client: httpx.AsyncClient) -> None:
    """An AVI sent as video/mp4 is refused with 400 unsupported media type."""
    data = b"RIFF\x24\x08\x00\x00AVI LIST" + PADDING
    response = await upload(client, data, secret=await token(), content_type="video/mp4")
    assert 400 == response.status_code
    assert "unsupported media type" in response.json()["error_description"]
