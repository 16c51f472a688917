"""Instagram media → post properties (syndication/instagram/pesos.py), pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hearth.syndication.instagram import pesos
from hearth.syndication.instagram.graph import Media

WHEN = datetime(2019, 9, 26, 22, 36, 43, tzinfo=UTC)
PERMALINK = "https://www.instagram.com/p/B3AbCdEf/"


def image(caption: str | None = "Hi", **kwargs: object) -> Media:
    values: dict[str, object] = {
        "id": "1", "media_type": "IMAGE", "caption": caption, "media_url": "https://cdn/1.jpg",
        "permalink": PERMALINK, "timestamp": WHEN,
    }  # fmt: skip
    return Media(**(values | kwargs))  # type: ignore[arg-type]


def test_caption_links_tags_and_mentions() -> None:
    """Hashtags link to the tag page and mentions to the profile; the rest is escaped."""
    html = pesos.caption_html("Sun <3 #Sunrise with @Friend.Name\nmail a@b.c")
    assert '<a href="https://www.instagram.com/explore/tags/sunrise/">#Sunrise</a>' in html
    assert '<a href="https://www.instagram.com/friend.name/">@Friend.Name</a>.' not in html
    assert '<a href="https://www.instagram.com/friend.name/">@Friend.Name</a>' in html
    assert "&lt;3" in html
    assert "a@b.c" in html and "instagram.com/b" not in html
    assert "<br>" in html


def test_category_is_hashtags_then_person_tags() -> None:
    """category = the hashtags (once each) plus an h-card per @mention."""
    properties = pesos.caption_properties("#sea #Sea at #dawn with @ann and @ann")
    assert ["sea", "dawn"] == properties["category"][:2]
    card = properties["category"][2]
    assert ["h-card"] == card["type"]
    assert ["@ann"] == card["properties"]["name"]
    assert ["https://www.instagram.com/ann/"] == card["properties"]["url"]
    assert 3 == len(properties["category"])
    assert "#sea #Sea at #dawn with @ann and @ann" == properties["content"][0]["value"]


def test_no_caption_gives_no_content() -> None:
    """A media without a caption becomes a photo post without content or category."""
    properties, published = pesos.to_post(image(None), {"https://cdn/1.jpg": "/m/1.jpg"})
    assert "content" not in properties and "category" not in properties
    assert ["/m/1.jpg"] == properties["photo"]
    assert WHEN == published


def test_image_uses_local_copy_alt_and_syndication() -> None:
    """IMAGE → photo with alt, pointing at the local copy; syndication = the permalink."""
    properties, _ = pesos.to_post(image(alt_text="A cat"), {"https://cdn/1.jpg": "/m/1.jpg"})
    assert [{"value": "/m/1.jpg", "alt": "A cat"}] == properties["photo"]
    assert [PERMALINK] == properties["syndication"]


def test_carousel_keeps_order_of_photos_and_videos() -> None:
    """CAROUSEL_ALBUM → each child as photo or video, in the album's order."""
    children = (
        Media(id="a", media_type="IMAGE", media_url="https://cdn/a.jpg", alt_text="first"),
        Media(
            id="b",
            media_type="VIDEO",
            media_url="https://cdn/b.mp4",
            thumbnail_url="https://cdn/b.jpg",
        ),
        Media(id="c", media_type="IMAGE", media_url="https://cdn/c.jpg"),
    )
    album = image(media_type="CAROUSEL_ALBUM", media_url=None, children=children)
    urls = pesos.remote_urls(album)
    assert [
        "https://cdn/a.jpg",
        "https://cdn/b.mp4",
        "https://cdn/b.jpg",
        "https://cdn/c.jpg",
    ] == urls
    files = {url: "/m/" + url.rsplit("/", 1)[1] for url in urls}
    properties, _ = pesos.to_post(album, files)
    assert [{"value": "/m/a.jpg", "alt": "first"}, "/m/c.jpg"] == properties["photo"]
    assert [{"value": "/m/b.mp4", "poster": "/m/b.jpg"}] == properties["video"]


def test_video_has_thumbnail_as_poster() -> None:
    """VIDEO (reels too) → video with the thumbnail as poster, no photo."""
    video = image(
        media_type="VIDEO", media_url="https://cdn/v.mp4", thumbnail_url="https://cdn/v.jpg"
    )
    files = {"https://cdn/v.mp4": "/m/v.mp4", "https://cdn/v.jpg": "/m/v.jpg"}
    properties, _ = pesos.to_post(video, files)
    assert [{"value": "/m/v.mp4", "poster": "/m/v.jpg"}] == properties["video"]
    assert "photo" not in properties


def test_missing_local_copy_refuses_to_hotlink() -> None:
    """Without a local copy of every file there is no post (KeyError), never a CDN URL."""
    with pytest.raises(KeyError):
        pesos.to_post(image(), {})


def test_missing_media_url_is_reported() -> None:
    """A copyright-flagged media has no media_url: listed so the copy can fail clearly."""
    assert ["1"] == pesos.missing_files(image(media_url=None))
    assert [] == pesos.missing_files(image())
