"""Builders for the media tests: images (HEIC too) made with Pillow and pillow-heif.

Every picture is generated on the fly (nothing binary is committed); random pixels come
from a seeded generator so sizes are the same on every run. The Micropub media endpoint's
tests upload them with `tests.micropub.media_helpers`.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pillow_heif
from PIL import ExifTags, Image, ImageCms

ORIENTATION = ExifTags.Base.Orientation
GPS = ExifTags.IFD.GPSInfo


def exif(*, orientation: int | None = None, gps: bool = False) -> Image.Exif:
    """EXIF with a camera make, and optionally an orientation and a GPS position."""
    tags = Image.Exif()
    tags[ExifTags.Base.Make] = "Hearth Test Camera"
    if orientation is not None:
        tags[ORIENTATION] = orientation
    if gps:
        position = tags.get_ifd(GPS)
        position[ExifTags.GPS.GPSLatitudeRef] = "N"
        position[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 1.5)
        position[ExifTags.GPS.GPSLongitudeRef] = "E"
        position[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 2.5)
    return tags


def srgb_profile() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return bytes(profile.tobytes())


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """An image of seeded random pixels: it compresses badly, so sizes are predictable."""
    bands = len(mode) if mode in ("RGB", "RGBA") else 1
    pixels = random.Random(seed).randbytes(size[0] * size[1] * bands)
    return Image.frombytes(mode, size, pixels)


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    """A small JPEG; `options` go to Pillow's save (exif=, icc_profile=, comment=...)."""
    return encode(Image.new("RGB", size, (200, 40, 40)), "JPEG", **options)


def png(size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    return encode(Image.new("RGBA", size, (40, 200, 40, 128)), "PNG", **options)


def webp(size: tuple[int, int] = (40, 20), **options: Any) -> bytes:
    return encode(Image.new("RGB", size, (40, 40, 200)), "WEBP", **options)


def animated_gif(frames: int = 3, size: tuple[int, int] = (32, 24)) -> bytes:
    """An animated GIF whose frames are random noise, so none is merged or cropped."""
    images = [noise(size, "L", seed=index).convert("P") for index in range(frames)]
    return encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=80, loop=0)


def big_animated_gif(min_bytes: int = 2_300_000) -> bytes:
    """An animated GIF of at least `min_bytes` (micropub.rocks 702 uploads 2.3 MB)."""
    size = (320, 240)
    one_frame = len(animated_gif(1, size))
    return animated_gif(min_bytes // one_frame + 1, size)


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def heic(size: tuple[int, int] = (40, 20), *, orientation: int = 1, gps: bool = True) -> bytes:
    """A real HEIC file with camera EXIF (and GPS) as a phone writes it."""
    pillow_heif.register_heif_opener()
    tags = Image.Exif()
    tags[ExifTags.Base.Make] = "PhoneMaker"
    tags[ORIENTATION] = orientation
    if gps:
        tags[GPS] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "HEIF", exif=tags.tobytes())
    return out.getvalue()
