"""An Instagram data-export zip for the import tests, and the real worker to import it.

`export_zip` writes a 2025-layout export (a photo with GPS in its EXIF, a carousel with a
video, captions with #tags, @mentions and Meta's mojibake); `run_worker` runs every due job
through the real worker, outbound HTTP answered by a MockTransport (no webmention endpoint).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.settings import Settings
from hearth.wiring import job_handlers

PHOTO_TIME = 1718449200  # 2024-06-15T11:00:00Z
CAROUSEL_TIME = 1720384531  # 2024-07-07T20:35:31Z
HEIC_TIME = 1722470400  # 2024-08-01T00:00:00Z
# What Meta writes for "😍" and "🌱": one \u00XX escape per UTF-8 byte
# (https://sorashi.github.io/fix-facebook-json-archive-encoding/).
LOVE = "\u00f0\u009f\u0098\u008d"
SPROUT = "\u00f0\u009f\u008c\u00b1"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08free" + b"\x00" * 64
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[1] = "N"  # GPSLatitudeRef
    exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)  # GPSLatitude
    out = io.BytesIO()
    Image.new("RGB", (16, 12), "orange").save(out, "JPEG", exif=exif)
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "teal").save(out, "WEBP")
    return out.getvalue()


def item(uri: str, ts: int, title: str = "") -> dict[str, Any]:
    return {"uri": uri, "creation_timestamp": ts, "title": title,
            "cross_post_source": {"source_app": "FB"}}  # fmt: skip


def export_zip(path: Path, *, with_heic: bool = False) -> Path:
    """A 2025-layout export: a single photo (caption in the media) and a carousel."""
    photo = "media/posts/202406/449123_n_17900000000000001.jpg"
    slide = "media/posts/202407/296182505_n_17908919372611575.webp"
    video = "media/posts/202407/AQNVW_17995561811639023.mp4"
    posts = [
        {"media": [item(photo, PHOTO_TIME, f"Sunrise at the lake {LOVE} #sunrise with @ann.b")]},
        {"media": [item(slide, CAROUSEL_TIME - 2), item(video, CAROUSEL_TIME - 2)],
         "title": f"Weekend trip {SPROUT}\n#travel #Family", "creation_timestamp": CAROUSEL_TIME},
    ]  # fmt: skip
    files = {photo: jpeg_with_gps(), slide: webp(), video: MP4}
    if with_heic:
        heic = "media/posts/202408/17940060624158613.heic"
        posts.append({"media": [item(heic, HEIC_TIME, "From the new phone")]})
        files[heic] = HEIC
    wrap = "instagram-jane_doe-2025-02-20-AbCdEf/"
    with zipfile.ZipFile(path, "w") as archive:
        # ensure_ascii (the default) writes the Latin-1 characters as \u00XX, as Meta does.
        archive.writestr(f"{wrap}your_instagram_activity/media/posts_1.json", json.dumps(posts))
        for name, data in files.items():
            archive.writestr(wrap + name, data)
    return path


def not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, text="no webmention here")


async def run_worker(settings: Settings, *, limit: int | None = None) -> int:
    """The real worker over every due job (at most `limit` of them); returns how many ran."""
    ran = 0
    transport = httpx.MockTransport(not_found)
    async with create_http_client(settings, transport=transport) as http:
        worker = Worker(settings, job_handlers(), http=http)
        while (limit is None or ran < limit) and await worker.run_once():
            ran += 1
    return ran
