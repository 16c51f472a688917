"""What a file is, by its bytes; and images checked with Pillow, turned upright and stripped.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6), which leaves checking to the
server. `identify` names a file's type from its magic bytes alone: JPEG, PNG, GIF, WebP,
AVIF and HEIC images (HEIC is turned into JPEG first, by `hearth.server.core.media.heic`),
and the common audio and video containers (stored as sent but for their recording location:
`hearth.server.core.media.video_location`). Anything else, SVG included (it can carry
script), is refused. Images then go through `clean_image`, in a worker thread:

1. The format comes from the magic bytes (`sniff_image`), never from the client's
   Content-Type or file name, and Pillow opens the file as that one format only.
2. A picture over `Image.MAX_IMAGE_PIXELS`, or an animation over `ANIMATION_PIXEL_FACTOR`
   times that in all its frames, is refused as a decompression bomb before it is decoded.
3. An EXIF orientation other than 1 is applied (`ImageOps.exif_transpose`) and the still
   image re-encoded: JPEG, WebP and AVIF at quality 90 (WebP lossless stays lossless), with
   its ICC profile. Animations keep their frames untouched instead.
4. Otherwise metadata is removed without re-encoding, so the pixels are untouched: JPEG
   segments, PNG chunks and WebP chunks other than those a picture needs (image data,
   colour profile, transparency, animation) are dropped, and so is anything after the end
   of the image. A file with nothing to strip, such as any GIF, is kept byte for byte.
   AVIF carries metadata inside its boxes, so an AVIF with EXIF or XMP is re-encoded
   (an animated one is refused instead).
5. The result is decoded in full, every frame, so a truncated or corrupt file is refused
   (a still JPEG at 1/8 scale: every coefficient is still read, see `_decode_all`).

With `keep_metadata` step 4 is skipped; step 3 still happens, keeping EXIF without the
orientation tag.

Refusals are `hearth.server.core.media.refusals` errors: `UnsupportedMedia` for a type Hearth
does not store (and for too many pixels), `UnreadableMedia` for a broken file.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image, ImageOps, ImageSequence

from hearth.server.core.media.refusals import MediaRefused, UnreadableMedia, UnsupportedMedia

__all__ = ["ANIMATION_PIXEL_FACTOR", "IMAGE_TYPES", "clean_image", "detect_av_type", "identify"]

# Pillow format name -> the Content-Type the file is served with.
IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
}
# All frames of an animation together may hold this many times Image.MAX_IMAGE_PIXELS.
ANIMATION_PIXEL_FACTOR = 4
_QUALITY = 90
# Full decodes at once: each can take a few hundred MB for a large photo.
_DECODE_SLOTS = threading.BoundedSemaphore(2)
# JPEG APPn segments kept, by marker and payload prefix: JFIF, the ICC profile, Adobe's
# colour transform. Everything else (Exif and XMP in APP1, MPF, IPTC, comments) goes.
_JPEG_KEEP = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}
# Ancillary PNG chunks kept (critical ones always are); text, eXIf, tIME and others go.
_PNG_KEEP = frozenset(
    b"tRNS gAMA cHRM sRGB iCCP sBIT bKGD pHYs hIST acTL fcTL fdAT cICP mDCV cLLI mDCv cLLi".split()
)
# WebP chunks kept; EXIF and "XMP " go. VP8X flag bits for them: 0x08 EXIF, 0x04 XMP.
_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
# ftyp brands (https://mp4ra.org/registered-types/brands) -> Content-Type.
_FTYP_TYPES = {
    **dict.fromkeys([b"M4A ", b"M4B ", b"M4P ", b"F4A "], "audio/mp4"),
    b"qt  ": "video/quicktime",
    **dict.fromkeys([b"3gp4", b"3gp5", b"3gp6", b"3gg6", b"3ge6"], "video/3gpp"),
    **dict.fromkeys(
        [b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
         b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"f4v "],
        "video/mp4",
    ),
}  # fmt: skip
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO BMFF file (MP4, MOV, AVIF, HEIC), or {}."""
    if data[4:8] != b"ftyp":
        return set()
    end = min(int.from_bytes(data[:4], "big"), len(data), 1024)
    return {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}


def sniff_image(data: bytes) -> str | None:
    """The Pillow format name of `data` by its magic bytes, or None if not a known image."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if ftyp_brands(data) & {b"avif", b"avis"}:
        return "AVIF"
    return None


def identify(data: bytes) -> tuple[str, str | None]:
    """(Content-Type, Pillow format) of `data`; the format is None for audio and video.

    Raises UnsupportedMedia, naming what the file seems to be, if it is none of those.
    """
    if fmt := sniff_image(data):
        return IMAGE_TYPES[fmt], fmt
    if content_type := detect_av_type(data):
        return content_type, None
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<") and b"<svg" in head:
        raise UnsupportedMedia("unsupported media type: SVG is not accepted (it can carry scripts)")
    if ftyp_brands(data) & _HEIF_BRANDS:
        return "image/heic", "HEIF"  # stored as JPEG: see hearth.server.core.media.heic
    supported = "JPEG, PNG, GIF, WebP, AVIF, HEIC, MP4, MOV, WebM, Ogg, MP3, AAC, WAV or FLAC"
    raise UnsupportedMedia(f"unsupported media type: the file is not {supported}")


def detect_av_type(data: bytes) -> str | None:
    """The Content-Type of an audio or video file by its container's magic bytes, or None."""
    if data[4:8] == b"ftyp":
        return _FTYP_TYPES.get(data[8:12])
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM or Matroska, named in DocType
        head = data[:4096]
        return (
            "video/webm" if b"webm" in head else "video/x-matroska" if b"matroska" in head else None
        )
    if data.startswith(b"OggS"):
        return "video/ogg" if b"\x80theora" in data[:512] else "audio/ogg"
    if data.startswith(b"ID3"):
        return "audio/mpeg"
    if len(data) > 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:  # MPEG audio frame sync
        if data[1] & 0x06 == 0:  # layer "00" is ADTS: AAC
            return "audio/aac"
        return "audio/mpeg" if data[2] >> 4 != 0xF else None
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    return None


def clean_image(data: bytes, fmt: str, *, keep_metadata: bool = False) -> bytes:
    """The bytes to store for an image of format `fmt`; raises a MediaRefused if unusable.

    Blocking and CPU-heavy: call it through `asyncio.to_thread`.
    """
    try:
        with _DECODE_SLOTS:
            with _open(data, fmt) as image:
                animated = fmt != "JPEG" and getattr(image, "n_frames", 1) > 1
                rotate = image.getexif().get(0x0112) in range(2, 9) and not animated
                metadata = (
                    fmt == "AVIF"
                    and not keep_metadata
                    and bool(image.info.get("exif") or image.info.get("xmp"))
                )
                if metadata and animated:  # re-encoding would lose its frames
                    raise UnsupportedMedia("an animated AVIF must not carry EXIF or XMP metadata")
                if rotate or metadata:
                    data = _reencode(image, data, fmt, keep_metadata=keep_metadata)
            if not keep_metadata and fmt in _STRIPPERS:
                data = _STRIPPERS[fmt](data)
            with _open(data, fmt) as image:
                image.verify()
            with _open(data, fmt) as image:
                _decode_all(image, fmt)
    except MediaRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise UnsupportedMedia("the image has too many pixels") from exc
    except Exception as exc:  # Pillow raises many types for broken files
        raise UnreadableMedia(f"the file is not a valid {fmt} image") from exc
    return data


@contextmanager
def _open(data: bytes, fmt: str) -> Iterator[Image.Image]:
    """Open `data` as `fmt` only, refusing decompression bombs before any decoding."""
    with Image.open(io.BytesIO(data), formats=[fmt]) as image:
        limit = Image.MAX_IMAGE_PIXELS
        pixels = image.width * image.height
        if limit is not None and (
            pixels > limit
            or pixels * getattr(image, "n_frames", 1) > limit * ANIMATION_PIXEL_FACTOR
        ):
            raise UnsupportedMedia("the image has too many pixels")
        yield image


def _decode_all(image: Image.Image, fmt: str) -> None:
    """Decode every frame of `image`, raising what Pillow raises for a broken file.

    The pixels are thrown away: this is only a check. So a still JPEG is decoded at 1/8
    scale (`draft`): libjpeg still reads and Huffman-decodes every coefficient of every scan,
    so a truncated or corrupt file fails exactly as in a full decode, but it skips most of
    the inverse DCT, upsampling and colour conversion (half the time of a 1080 px photo).
    """
    if fmt == "JPEG" and getattr(image, "n_frames", 1) == 1:
        image.draft(image.mode, (1, 1))
    for frame in ImageSequence.Iterator(image):
        frame.load()


def _reencode(image: Image.Image, data: bytes, fmt: str, *, keep_metadata: bool) -> bytes:
    """The still `image` (read from `data`) turned upright and encoded again as `fmt`."""
    upright = ImageOps.exif_transpose(image)
    options: dict[str, Any] = {"icc_profile": image.info.get("icc_profile")}
    if keep_metadata:
        # exif_transpose has already taken the orientation out of these.
        options.update(exif=upright.getexif().tobytes(), xmp=upright.info.get("xmp"))
    else:
        options.update(exif=b"", comment=b"")
    if fmt in ("JPEG", "PNG"):
        options.update(dpi=image.info.get("dpi"))
    if fmt in ("JPEG", "AVIF"):
        options.update(quality=_QUALITY)
    elif fmt == "WEBP":
        lossless = any(kind == b"VP8L" for kind, _ in _riff_chunks(data))
        options.update(quality=100 if lossless else _QUALITY, lossless=lossless)
    out = io.BytesIO()
    upright.save(out, fmt, **{key: value for key, value in options.items() if value is not None})
    return out.getvalue()


def _strip_jpeg(data: bytes) -> bytes:
    """`data` with only the segments a JPEG picture needs, ending at its first EOI."""
    out, pos = bytearray(data[:2]), 2
    while pos + 1 < len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no JPEG marker at {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # EOI: anything after it (MPF pictures, trailers) is dropped
            return bytes(out + b"\xff\xd9")
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers
            out += data[pos : pos + 2]
            pos += 2
            continue
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        keep = _JPEG_KEEP.get(marker)
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE) or (
            keep and data[pos + 4 : end].startswith(keep)
        ):
            out += data[pos:end]
        pos = end
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next real marker
            scan_end = _scan_end(data, pos)
            out += data[pos:scan_end]
            pos = scan_end
    raise ValueError("the JPEG ends before its end marker")


def _scan_end(data: bytes, pos: int) -> int:
    """Where the entropy-coded data starting at `pos` ends: the next non-RST marker."""
    while (pos := data.find(b"\xff", pos)) != -1 and pos + 1 < len(data):
        follower = data[pos + 1]
        if follower != 0x00 and not 0xD0 <= follower <= 0xD7:
            return pos
        pos += 2
    return len(data)


def _strip_png(data: bytes) -> bytes:
    """`data` with only critical and picture-related PNG chunks, ending at IEND."""
    out, pos = bytearray(data[:8]), 8
    while pos + 12 <= len(data):
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + int.from_bytes(data[pos : pos + 4], "big")
        if not kind[0] & 0x20 or kind in _PNG_KEEP:  # lower-case first letter: ancillary
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            break
    return bytes(out)


def _riff_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk of a RIFF file as (type, whole chunk with header and padding)."""
    pos, riff_end = 12, min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    while pos + 8 <= riff_end:
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunk = data[pos : pos + 8 + size + (size & 1)]
        yield chunk[:4], chunk
        pos += len(chunk)


def _strip_webp(data: bytes) -> bytes:
    """`data` without EXIF and XMP chunks, and with their VP8X flags cleared."""
    body = bytearray()
    for kind, chunk in _riff_chunks(data):
        if kind == b"VP8X" and len(chunk) > 8:
            chunk = chunk[:8] + bytes([chunk[8] & (0xFF ^ 0x0C)]) + chunk[9:]
        if kind in _WEBP_KEEP:
            body += chunk
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + bytes(body)


_STRIPPERS = {"JPEG": _strip_jpeg, "PNG": _strip_png, "WEBP": _strip_webp}
