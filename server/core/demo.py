"""Demo content, so a fresh site shows a living h-feed at once (`hearth demo`)."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image, ImageDraw

from hearth.server.core import timestamps
from hearth.server.core.events import post_changed
from hearth.server.core.media.files import media_url, store_media
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings


def _sample_photo() -> bytes:
    """A small generated sunset, so the demo needs no file from anywhere."""
    image = Image.new("RGB", (640, 400), "#1d3557")
    draw = ImageDraw.Draw(image)
    for band in range(200):
        shade = (230 - band // 2, 120 + band // 3, 60 + band // 4)
        draw.line([(0, 200 + band), (640, 200 + band)], fill=shade)
    draw.ellipse([260, 130, 380, 250], fill="#ffb703")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


async def fill_demo(settings: Settings) -> int:
    """Create demo posts on an empty site; returns how many were made (0 if not empty)."""
    if await Post.all().exists():
        return 0
    now = timestamps.now()
    photo = await store_media(settings, _sample_photo(), "image/jpeg", "sunset.jpg")
    samples: list[dict[str, list[object]]] = [
        {
            "name": ["Welcome to Hearth"],
            "content": [
                {
                    "html": "<p>This site is <strong>yours</strong>: posts, photos and replies "
                    "live here first. Sign in with <code>hearth set-password</code>, then "
                    "publish from any Micropub client.</p>"
                }
            ],
            "category": ["hearth", "indieweb"],
        },
        {"content": ["Hello, world! My first note from my own website."], "category": ["hello"]},
        {
            "content": ["Evening light over the river."],
            "photo": [
                {"value": media_url(settings, photo), "alt": "An orange sun over blue water"}
            ],
            "category": ["photo"],
        },
        {
            "in-reply-to": ["https://indieweb.org/POSSE"],
            "content": ["Publishing on my own site and syndicating elsewhere: yes, please."],
        },
        {"like-of": ["https://indieweb.org/"]},
        {"bookmark-of": ["https://www.w3.org/TR/micropub/"], "name": ["Micropub spec"]},
    ]
    for offset, properties in enumerate(samples):
        post = await create_post(properties, published=now - timedelta(hours=len(samples) - offset))
        await post_changed(settings, post)
    return len(samples)
