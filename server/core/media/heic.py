"""HEIC/HEIF photos (what iPhones and recent silo exports give) turned into JPEG.

Spec: ISO/IEC 23008-12 (HEIF; a summary: https://nokiatech.github.io/heif/technical.html).

Most browsers other than Safari cannot show HEIF, so Hearth never serves it: `to_jpeg` decodes
the file with pillow-heif (libheif, https://github.com/bigcat88/pillow_heif) and encodes the
picture as a JPEG, which `hearth.server.core.media.images.clean_image` then checks like any
other image. pillow-heif applies the file's rotation and mirroring properties while decoding,
so the JPEG is upright. Metadata is dropped unless `keep_metadata` (then EXIF, minus its
orientation tag, and XMP are carried over); the colour profile is always kept.

The same bomb guard as other images applies: the size is read from the header and refused
over `Image.MAX_IMAGE_PIXELS` before anything is decoded (`UnsupportedMedia`); a file libheif
cannot read is `UnreadableMedia` (`hearth.server.core.media.refusals`).
"""

from __future__ import annotations

import io
import threading
from typing import Any

from PIL import Image

from hearth.server.core.media.refusals import MediaRefused, UnreadableMedia, UnsupportedMedia

_QUALITY = 90
_ORIENTATION = 0x0112
_registered = threading.Lock()
_opener_ready = False


def _register_opener() -> None:
    """Teach Pillow to open HEIF, once (done on first use: no work at import time)."""
    global _opener_ready
    with _registered:
        if not _opener_ready:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _opener_ready = True


def to_jpeg(data: bytes, *, keep_metadata: bool = False) -> bytes:
    """The JPEG of the (first) picture in a HEIF file; raises a MediaRefused if unusable.

    Blocking and CPU-heavy: call it through `asyncio.to_thread`.
    """
    _register_opener()
    try:
        with Image.open(io.BytesIO(data), formats=["HEIF"]) as image:
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and image.width * image.height > limit:
                raise UnsupportedMedia("the image has too many pixels")
            options: dict[str, Any] = {"quality": _QUALITY}
            if icc := image.info.get("icc_profile"):
                options["icc_profile"] = icc
            if keep_metadata:
                exif = image.getexif()
                exif.pop(_ORIENTATION, None)  # the pixels are upright already
                options["exif"] = exif.tobytes()
                if xmp := image.info.get("xmp"):
                    options["xmp"] = xmp
            picture = image.convert("RGB")
            out = io.BytesIO()
            picture.save(out, "JPEG", **options)
            return out.getvalue()
    except MediaRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise UnsupportedMedia("the image has too many pixels") from exc
    except Exception as exc:  # libheif and Pillow raise many types for broken files
        raise UnreadableMedia("the file is not a valid HEIC/HEIF image") from exc
