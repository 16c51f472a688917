"""Images checked and cleaned (hearth.server.core.media.images): turned upright, EXIF/GPS/XMP
stripped without re-encoding, bombs and broken files refused; and what a file is, by its bytes.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (which leaves the checks to the server).
Uploads through the Micropub media endpoint are tested in
tests/micropub/test_media_endpoint_images.py and test_media_endpoint_av.py.
"""

from __future__ import annotations

import random

import pytest
from PIL import Image, ImageSequence, features

from hearth.server.core.media import images
from hearth.server.core.media.images import clean_image, detect_av_type, identify
from hearth.server.core.media.refusals import MediaRefused, UnreadableMedia, UnsupportedMedia
from tests.server.core.media.media_data.factory import (
    GPS,
    ORIENTATION,
    encode,
    exif,
    heic,
    jpeg,
    noise,
    opened,
    png,
    srgb_profile,
    webp,
)

PADDING = bytes(range(256)) * 4


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body


def test_png_metadata_chunks_are_stripped() -> None:
    """PNG eXIf and text chunks go; the pixels stay exactly the same."""
    original = png(exif=exif(gps=True), pnginfo=_text_info("Location", "52N 4E"))
    cleaned = clean_image(original, "PNG")
    assert b"eXIf" not in cleaned
    assert b"52N 4E" not in cleaned
    assert opened(original).tobytes() == opened(cleaned).tobytes()


def test_webp_exif_is_stripped_losslessly() -> None:
    """WebP EXIF goes (and its VP8X flag); the pixels stay exactly the same."""
    original = webp(exif=exif(gps=True), icc_profile=srgb_profile())
    cleaned = clean_image(original, "WEBP")
    assert b"EXIF" not in cleaned
    assert {} == dict(opened(cleaned).getexif())
    assert opened(original).tobytes() == opened(cleaned).tobytes()


def test_animated_webp_keeps_its_frames_when_stripped() -> None:
    """An animated WebP loses its EXIF without being re-encoded: every frame stays."""
    frames = [noise((24, 16), seed=index) for index in range(3)]
    original = encode(
        frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=exif(gps=True)
    )
    cleaned = clean_image(original, "WEBP")
    assert b"EXIF" not in cleaned
    assert 3 == opened(cleaned).n_frames


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
def test_avif_gps_is_stripped() -> None:
    """An AVIF with GPS EXIF is re-encoded without it."""
    cleaned = clean_image(encode(noise((16, 16)), "AVIF", exif=exif(gps=True)), "AVIF")
    assert {} == dict(opened(cleaned).getexif())


def test_png_orientation_is_applied() -> None:
    """A PNG whose eXIf says orientation 6 is re-encoded upright."""
    cleaned = clean_image(png((40, 20), exif=exif(orientation=6)), "PNG")
    assert (20, 40) == opened(cleaned).size


def test_keep_metadata_keeps_gps() -> None:
    """With keep_metadata an upright JPEG is stored as sent, GPS and all."""
    original = jpeg(exif=exif(gps=True))
    assert original == clean_image(original, "JPEG", keep_metadata=True)


def test_keep_metadata_still_applies_orientation() -> None:
    """With keep_metadata a rotated JPEG is turned upright and keeps its GPS."""
    cleaned = opened(
        clean_image(jpeg(exif=exif(orientation=6, gps=True)), "JPEG", keep_metadata=True)
    )
    assert (20, 40) == cleaned.size
    assert ORIENTATION not in cleaned.getexif()
    assert "N" == cleaned.getexif().get_ifd(GPS)[1]


def test_clean_image_refuses_non_images() -> None:
    """clean_image raises UnreadableMedia for bytes Pillow cannot read as the format."""
    with pytest.raises(UnreadableMedia, match="not a valid PNG image"):
        clean_image(b"\x89PNG\r\n\x1a\nnot really", "PNG")


@pytest.mark.parametrize(
    "data",
    [
        ftyp(b"crx ", b"crx ") + PADDING,  # Canon raw photo in an ISO BMFF box
        b"\x1a\x45\xdf\xa3" + PADDING,  # EBML without a known DocType
        b"RIFF\x24\x08\x00\x00AVI LIST" + PADDING,
        b"\xff\xfb\xf0\x00" + PADDING,  # frame sync with the "bad" bitrate index
    ],
    ids=["unknown-ftyp-brand", "unknown-ebml", "avi", "bad-mp3-frame"],
)
def test_unknown_containers_are_not_recognised(data: bytes) -> None:
    """Look-alike headers of formats Hearth does not serve give no type."""
    assert detect_av_type(data) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (jpeg(), ("image/jpeg", "JPEG")),
        (png(), ("image/png", "PNG")),
        (webp(), ("image/webp", "WEBP")),
        (heic(), ("image/heic", "HEIF")),
        (ftyp(b"qt  ", b"qt  ") + PADDING, ("video/quicktime", None)),
    ],
    ids=["jpeg", "png", "webp", "heic", "mov"],
)
def test_identify_names_the_type_by_its_bytes(
    data: bytes, expected: tuple[str, str | None]
) -> None:
    """(Content-Type, Pillow format), the format None for audio and video."""
    assert expected == identify(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
            "SVG is not accepted",
        ),
        (b"RIFF\x24\x08\x00\x00AVI LIST" + PADDING, "the file is not JPEG, PNG"),
        (b"just some text", "unsupported media type"),
    ],
    ids=["svg", "avi", "text"],
)
def test_identify_refuses_other_types_as_unsupported(data: bytes, reason: str) -> None:
    """Anything but the image, audio and video types Hearth serves is `unsupported`."""
    with pytest.raises(UnsupportedMedia, match=reason) as refused:
        identify(data)
    assert "unsupported" == refused.value.kind


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_too_many_pixels_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A picture over Image.MAX_IMAGE_PIXELS is refused before decoding, as `unsupported`."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(UnsupportedMedia, match="too many pixels"):
        clean_image(jpeg((20, 10)), "JPEG")


def test_truncated_image_is_unreadable() -> None:
    """A JPEG cut off in its image data is `unreadable`, naming the format."""
    data = encode(noise((64, 64)), "JPEG")
    with pytest.raises(UnreadableMedia, match="not a valid JPEG image") as refused:
        clean_image(data[: len(data) // 2], "JPEG")
    assert "unreadable" == refused.value.kind


def _outcome(data: bytes) -> bytes | str:
    """What `clean_image` makes of `data`: the bytes stored, or the refusal's kind."""
    try:
        return clean_image(data, "JPEG")
    except MediaRefused as refused:
        return refused.kind


def _full_decode(image: Image.Image, fmt: str) -> None:
    """The check as it was: every frame decoded at full size."""
    for frame in ImageSequence.Iterator(image):
        frame.load()


def _damaged(data: bytes, seed: int) -> list[bytes]:
    """`data` cut short at many places, and with one byte of its tables, frame or scan header
    overwritten (never with 0xFF, so its markers stay where they are): damage that only
    decoding finds, as the stripper walks the markers alone."""
    rnd = random.Random(seed)
    cuts = [data[:n] for n in range(100, len(data), len(data) // 20)]
    headers_end = data.index(b"\xff\xda") + 14
    overwritten = []
    for _ in range(150):
        broken, at = bytearray(data), rnd.randrange(2, headers_end)
        if 0xFF not in (broken[at], broken[at - 1]):
            broken[at] = rnd.randrange(0xFF)
            overwritten.append(bytes(broken))
    return cuts + overwritten


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_damaged_jpeg_is_refused_as_by_a_full_decode(
    progressive: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check decodes a JPEG at 1/8 scale (faster), yet a cut or overwritten file is
    refused, or stored byte for byte the same, exactly as when every pixel was decoded."""
    image = noise((96, 64)).resize((480, 320))  # smooth enough to be photo-like
    files = _damaged(encode(image, "JPEG", quality=85, progressive=progressive), seed=7)
    now = [_outcome(data) for data in files]
    monkeypatch.setattr(images, "_decode_all", _full_decode)
    assert [_outcome(data) for data in files] == now
    monkeypatch.setattr(images, "_decode_all", lambda image, fmt: None)
    unchecked = [_outcome(data) for data in files]
    # The damage was real, and decoding is what found much of it.
    assert sum(a != b for a, b in zip(now, unchecked, strict=True)) > 20


def _text_info(key: str, value: str) -> object:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info
