"""Tests for hearth.server.feeds: Atom, RSS 2.0 and JSON Feed, read the way feed readers read
them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import httpx
import pytest
from starlette.applications import Starlette

from hearth.app import create_app
from hearth.server import feeds
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.settings import Settings
from hearth.server.core.site_links import SiteLink
from tests.micropub.endpoint_helpers import ENDPOINT, bearer, image_bytes

A = "{http://www.w3.org/2005/Atom}"
HUB = "https://hub.example.test/"
FEED_PATHS = ("/feed.atom", "/feed.rss", "/feed.json")
XML_PATHS = ("/feed.atom", "/feed.rss")
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture(name="hub_client")
async def hub_client_fixture(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client for a second app whose settings name a WebSub hub."""
    app = create_app(replace(settings, websub_hub=HUB))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
            yield client


async def note(text: str, *, minutes: int = 0, **kwargs: Any) -> Post:
    return await create_post(
        {"content": [text]}, published=BASE + timedelta(minutes=minutes), **kwargs
    )


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML strictly: a malformed document raises."""
    return ET.fromstring(data)


async def atom(client: httpx.AsyncClient, path: str = "/feed.atom") -> ET.Element:
    response = await client.get(path)
    assert response.status_code == 200
    return parse_xml(response.content)


async def rss_channel(client: httpx.AsyncClient) -> ET.Element:
    response = await client.get("/feed.rss")
    assert response.status_code == 200
    root = parse_xml(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    return channel


async def json_feed(client: httpx.AsyncClient, path: str = "/feed.json") -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200
    data: dict[str, Any] = json.loads(response.content)
    return data


async def parsed(client: httpx.AsyncClient, path: str) -> Any:
    """The feed as feedparser (a real reader's parser) sees it; it must not be malformed."""
    result = feedparser.parse((await client.get(path)).content)
    assert not result.bozo, result.get("bozo_exception")
    return result


def atom_links(element: ET.Element, rel: str) -> list[str]:
    return [link.get("href", "") for link in element.findall(f"{A}link") if link.get("rel") == rel]


def header_links(response: httpx.Response, rel: str) -> list[str]:
    return [link["url"] for link in response.links.values() if rel in link.get("rel", "").split()]


async def test_empty_site_gives_valid_empty_atom(app: Starlette, client: httpx.AsyncClient) -> None:
    """With no posts the Atom feed still has the required id, title and updated, no entries."""
    feed = await atom(client)
    assert feed.tag == f"{A}feed"
    assert feed.findtext(f"{A}id") == "https://example.test/feed.atom"
    assert feed.findtext(f"{A}title") == "Alice Example"
    assert RFC3339.match(feed.findtext(f"{A}updated") or "")
    assert feed.findall(f"{A}entry") == []
    assert (await parsed(client, "/feed.atom")).entries == []


async def test_empty_site_gives_valid_empty_rss(app: Starlette, client: httpx.AsyncClient) -> None:
    """With no posts the RSS channel has its required title, link and description, no items."""
    channel = await rss_channel(client)
    assert channel.findtext("title") == "Alice Example"
    assert channel.findtext("link") == "https://example.test/"
    assert channel.findtext("description")
    assert channel.findall("item") == []
    assert (await parsed(client, "/feed.rss")).entries == []


async def test_empty_site_gives_valid_empty_json_feed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """With no posts the JSON Feed has version, title and an empty items list."""
    data = await json_feed(client)
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["title"] == "Alice Example"
    assert data["feed_url"] == "https://example.test/feed.json"
    assert data["home_page_url"] == "https://example.test/"
    assert data["items"] == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/feed.atom", "application/atom+xml; charset=utf-8"),
        ("/feed.rss", "application/rss+xml; charset=utf-8"),
        ("/feed.json", "application/feed+json; charset=utf-8"),
    ],
)
async def test_content_type(
    app: Starlette, client: httpx.AsyncClient, path: str, content_type: str
) -> None:
    """Each feed is served with its registered media type and UTF-8."""
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type


async def test_latest_posts_newest_first_limited_to_page_size(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    """Feeds list the newest `page_size` public posts, newest first, ids being permalinks."""
    created = [await note(f"Post number {i}", minutes=i) for i in range(7)]
    newest = list(reversed(created))[: settings.page_size]
    expected = [settings.absolute(p.path) for p in newest]
    feed = await atom(client)
    assert [e.findtext(f"{A}id") for e in feed.findall(f"{A}entry")] == expected
    channel = await rss_channel(client)
    assert [i.findtext("guid") for i in channel.findall("item")] == expected
    assert [i["id"] for i in (await json_feed(client))["items"]] == expected


async def test_unpublished_and_non_public_posts_are_absent(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Drafts, private, unlisted and deleted posts appear in no feed; public ones do."""
    await note("Public words", minutes=0)
    await note("Draft words", minutes=1, status=Status.DRAFT)
    await note("Private words", minutes=2, visibility=Visibility.PRIVATE)
    await note("Unlisted words", minutes=3, visibility=Visibility.UNLISTED)
    deleted = await note("Deleted words", minutes=4)
    deleted.deleted_at = datetime.now(UTC)
    await deleted.save()
    for path in FEED_PATHS:
        body = (await client.get(path)).text
        assert "Public words" in body, path
        for hidden in ("Draft", "Private", "Unlisted", "Deleted"):
            assert f"{hidden} words" not in body, (path, hidden)


async def test_unicode_and_rtl_text_survive(app: Starlette, client: httpx.AsyncClient) -> None:
    """Hebrew, Arabic (with RTL marks), emoji and CJK text reach readers unchanged."""
    text = "שלום עולם \u200fمرحبا بالعالم 🔥 日本語 e\u0301"
    await note(text)
    feed = await atom(client)
    assert "שלום עולם" in (feed.findtext(f"{A}entry/{A}content") or "")
    assert "مرحبا بالعالم 🔥 日本語 e\u0301" in (feed.findtext(f"{A}entry/{A}title") or "")
    channel = await rss_channel(client)
    assert text in (channel.findtext("item/description") or "")
    assert (await json_feed(client))["items"][0]["content_text"] == text


async def test_html_content_is_sanitized_and_well_formed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """HTML with `]]>`, a script and quotes stays well-formed XML, and the script is gone."""
    html = '<p>a ]]> b &amp; "c" <script>alert(1)</script><b onclick="x()">bold</b></p>]]>'
    await create_post({"content": [{"html": html, "value": "a b c bold"}]}, published=BASE)
    atom_content = (await atom(client)).findtext(f"{A}entry/{A}content") or ""
    rss_content = (await rss_channel(client)).findtext("item/description") or ""
    json_content = (await json_feed(client))["items"][0]["content_html"]
    for content in (atom_content, rss_content, json_content):
        assert "a ]]&gt; b &amp;" in content
        assert "<b>bold</b>" in content
        assert "script" not in content and "alert" not in content
        assert "onclick" not in content
    for path in XML_PATHS:
        await parsed(client, path)


async def test_atom_html_content_is_escaped_text(app: Starlette, client: httpx.AsyncClient) -> None:
    """Atom content is type="html" whose text is the markup, not child elements."""
    await create_post({"content": [{"html": "<p>x ]]> y</p>", "value": "x y"}]}, published=BASE)
    content = (await atom(client)).find(f"{A}entry/{A}content")
    assert content is not None
    assert content.get("type") == "html"
    assert list(content) == []
    assert content.text == "<p>x ]]&gt; y</p>"


async def test_xml_illegal_control_characters_are_stripped(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """Control characters XML cannot carry are dropped; the rest of the text stays."""
    await note("bell\x07 null\x00 esc\x1b tab\tend\ufffe", minutes=0)
    await create_post({"name": ["Title\x0b here"], "content": ["Body\x01"]}, published=BASE)
    for path in XML_PATHS:
        response = await client.get(path)
        parse_xml(response.content)
        assert "bell null esc tab\tend" in response.text, path
        assert "Title here" in response.text, path
    data = await json_feed(client)
    assert "bell null esc tab\tend" in [i.get("content_text") for i in data["items"]]


async def test_photo_in_atom(app: Starlette, client: httpx.AsyncClient) -> None:
    """An Atom entry carries its photo as an enclosure link and as an img in the content."""
    photo = "https://example.test/media/cat.jpg"
    await create_post({"photo": [{"value": photo, "alt": "A cat"}], "content": ["Cat"]})
    entry = (await atom(client)).find(f"{A}entry")
    assert entry is not None
    enclosures = [link for link in entry.findall(f"{A}link") if link.get("rel") == "enclosure"]
    assert [(e.get("href"), e.get("type")) for e in enclosures] == [(photo, "image/jpeg")]
    assert f'<img src="{photo}" alt="A cat">' in (entry.findtext(f"{A}content") or "")


async def test_photo_in_rss(app: Starlette, client: httpx.AsyncClient) -> None:
    """An RSS item carries its photo as an enclosure and as an img in the description."""
    photo = "https://example.test/media/cat.png"
    await create_post({"photo": [photo], "content": ["Cat"]})
    item = (await rss_channel(client)).find("item")
    assert item is not None
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert (enclosure.get("url"), enclosure.get("type")) == (photo, "image/png")
    assert enclosure.get("length") == "0"
    assert f'<img src="{photo}"' in (item.findtext("description") or "")


async def test_photo_in_json_feed(app: Starlette, client: httpx.AsyncClient) -> None:
    """A JSON Feed item names its photo as `image` and lists it in `attachments`."""
    photo = "https://example.test/media/cat.jpg"
    await create_post({"photo": [{"value": photo, "alt": "A cat"}], "content": ["Cat"]})
    item = (await json_feed(client))["items"][0]
    assert item["image"] == photo
    assert item["attachments"] == [{"url": photo, "mime_type": "image/jpeg", "title": "A cat"}]
    assert f'<img src="{photo}" alt="A cat">' in item["content_html"]


async def test_relative_photo_becomes_absolute(app: Starlette, client: httpx.AsyncClient) -> None:
    """A photo given as a site path is resolved against the site URL."""
    await create_post({"photo": ["/media/dog.webp"], "content": ["Dog"]})
    item = (await json_feed(client))["items"][0]
    assert item["image"] == "https://example.test/media/dog.webp"


async def test_note_titles(app: Starlette, client: httpx.AsyncClient) -> None:
    """Notes: Atom gets a title from the text, RSS and JSON Feed leave the title out."""
    await note("Just a quick note about nothing")
    entry_title = (await atom(client)).findtext(f"{A}entry/{A}title")
    assert entry_title == "Just a quick note about nothing"
    item = (await rss_channel(client)).find("item")
    assert item is not None and item.find("title") is None
    assert item.findtext("description") == "<p>Just a quick note about nothing</p>"
    assert "title" not in (await json_feed(client))["items"][0]


async def test_article_titles(app: Starlette, client: httpx.AsyncClient) -> None:
    """Articles keep their name as the title in every format."""
    await create_post({"name": ["On Hearths"], "content": ["Fire is warm."]})
    assert (await atom(client)).findtext(f"{A}entry/{A}title") == "On Hearths"
    assert (await rss_channel(client)).findtext("item/title") == "On Hearths"
    assert (await json_feed(client))["items"][0]["title"] == "On Hearths"


async def test_dates_use_each_formats_syntax(app: Starlette, client: httpx.AsyncClient) -> None:
    """Atom and JSON Feed dates are RFC 3339, RSS dates RFC 822, all the post's instant."""
    await note("Dated", minutes=0)
    entry = (await atom(client)).find(f"{A}entry")
    assert entry is not None
    assert entry.findtext(f"{A}published") == "2026-03-01T12:00:00Z"
    assert RFC3339.match(entry.findtext(f"{A}updated") or "")
    pub_date = (await rss_channel(client)).findtext("item/pubDate") or ""
    assert pub_date == "Sun, 01 Mar 2026 12:00:00 GMT"
    assert parsedate_to_datetime(pub_date) == BASE
    item = (await json_feed(client))["items"][0]
    assert datetime.fromisoformat(item["date_published"]) == BASE


async def test_author_is_owner_card(app: Starlette, client: httpx.AsyncClient) -> None:
    """The feed author is the owner's h-card: name, home URL and photo."""
    feed = await atom(client)
    assert feed.findtext(f"{A}author/{A}name") == "Alice Example"
    assert feed.findtext(f"{A}author/{A}uri") == "https://example.test/"
    authors = (await json_feed(client))["authors"]
    assert authors == [
        {
            "name": "Alice Example",
            "url": "https://example.test/",
            "avatar": "https://example.test/alice.jpg",
        }
    ]


async def test_categories_are_listed(app: Starlette, client: httpx.AsyncClient) -> None:
    """Plain-string categories become Atom categories, RSS categories and JSON tags."""
    await create_post({"content": ["Tagged"], "category": ["indieweb", "Fire"]})
    entry = (await atom(client)).find(f"{A}entry")
    assert entry is not None
    assert [c.get("term") for c in entry.findall(f"{A}category")] == ["indieweb", "Fire"]
    assert [c.text for c in (await rss_channel(client)).findall("item/category")] == [
        "indieweb",
        "Fire",
    ]
    assert (await json_feed(client))["items"][0]["tags"] == ["indieweb", "Fire"]


async def test_feedparser_reads_entries(app: Starlette, client: httpx.AsyncClient) -> None:
    """A real feed parser sees the posts' links, titles and dates in both XML formats."""
    post = await create_post({"name": ["Hello"], "content": ["World"]}, published=BASE)
    for path in XML_PATHS:
        entry = (await parsed(client, path)).entries[0]
        assert entry.link == f"https://example.test/{post.path}", path
        assert entry.title == "Hello", path
        assert entry.published_parsed[:6] == (2026, 3, 1, 12, 0, 0), path


async def test_atom_paging_with_before(app: Starlette, client: httpx.AsyncClient) -> None:
    """A full Atom page links rel=next to `?before=`, which lists the older posts."""
    created = [await note(f"Paged {i}", minutes=i) for i in range(7)]
    first = await atom(client)
    (next_url,) = atom_links(first, "next")
    second = await atom(client, next_url)
    ids = [e.findtext(f"{A}id") for e in second.findall(f"{A}entry")]
    assert ids == [f"https://example.test/{p.path}" for p in reversed(created[:2])]
    assert atom_links(second, "next") == []
    assert atom_links(second, "self") == [next_url]


async def test_json_feed_paging_with_next_url(app: Starlette, client: httpx.AsyncClient) -> None:
    """A full JSON Feed page has `next_url`; the last page has none."""
    for i in range(6):
        await note(f"Paged {i}", minutes=i)
    first = await json_feed(client)
    second = await json_feed(client, first["next_url"])
    assert [i["content_text"] for i in second["items"]] == ["Paged 0"]
    assert "next_url" not in second


async def test_bad_cursor_is_400(app: Starlette, client: httpx.AsyncClient) -> None:
    """A mangled `before` cursor is a client error, not a server error."""
    response = await client.get("/feed.atom", params={"before": "!!not-a-cursor"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", FEED_PATHS)
async def test_if_none_match_gives_304(
    app: Starlette, client: httpx.AsyncClient, path: str
) -> None:
    """Sending back the ETag gets 304 Not Modified with no body."""
    await note("Cached")
    first = await client.get(path)
    assert first.headers["last-modified"]
    again = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_new_post_changes_etag(app: Starlette, client: httpx.AsyncClient) -> None:
    """After a new post the old ETag no longer matches, so readers get the new feed."""
    await note("One", minutes=0)
    etag = (await client.get("/feed.atom")).headers["etag"]
    await note("Two", minutes=1)
    response = await client.get("/feed.atom", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag


@pytest.mark.parametrize("path", FEED_PATHS)
async def test_head_has_get_headers(hub_client: httpx.AsyncClient, path: str) -> None:
    """HEAD answers 200 with exactly the headers of GET (type, length, ETag, Link)."""
    await note("Head")
    get = await hub_client.get(path)
    head = await hub_client.head(path)
    assert head.status_code == 200
    assert dict(head.headers) == dict(get.headers)


@pytest.mark.parametrize("path", FEED_PATHS)
async def test_no_hub_links_without_hub(
    app: Starlette, client: httpx.AsyncClient, path: str
) -> None:
    """Without a configured hub no feed names a hub, in headers or in the document."""
    response = await client.get(path)
    assert header_links(response, "hub") == []
    assert header_links(response, "self") == []
    assert 'rel="hub"' not in response.text
    assert '"hubs"' not in response.text


async def test_hub_and_self_link_headers(hub_client: httpx.AsyncClient) -> None:
    """With a hub, each feed's Link header names the hub and the feed itself."""
    for path in FEED_PATHS:
        response = await hub_client.get(path)
        assert header_links(response, "hub") == [HUB], path
        assert header_links(response, "self") == [f"https://example.test{path}"], path


async def test_hub_and_self_in_atom(hub_client: httpx.AsyncClient) -> None:
    """With a hub, the Atom feed has atom:link rel=hub and rel=self."""
    feed = await atom(hub_client)
    assert atom_links(feed, "hub") == [HUB]
    assert atom_links(feed, "self") == ["https://example.test/feed.atom"]


async def test_hub_and_self_in_rss(hub_client: httpx.AsyncClient) -> None:
    """With a hub, the RSS channel has atom:link rel=hub and rel=self."""
    channel = await rss_channel(hub_client)
    assert atom_links(channel, "hub") == [HUB]
    assert atom_links(channel, "self") == ["https://example.test/feed.rss"]


async def test_hubs_in_json_feed(hub_client: httpx.AsyncClient) -> None:
    """With a hub, JSON Feed lists it in `hubs`, and `feed_url` is the feed itself."""
    data = await json_feed(hub_client)
    assert data["hubs"] == [{"type": "WebSub", "url": HUB}]
    assert data["feed_url"] == "https://example.test/feed.json"


async def test_home_page_advertises_feeds(app: Starlette, client: httpx.AsyncClient) -> None:
    """The home page links every feed as rel=alternate with its type, in header and HTML."""
    response = await client.get("/")
    link_header = httpx.Headers(response.headers).get("link", "")
    for path, media_type in (
        ("feed.atom", "application/atom+xml"),
        ("feed.rss", "application/rss+xml"),
        ("feed.json", "application/feed+json"),
    ):
        url = f"https://example.test/{path}"
        assert f'<{url}>; rel="alternate"; type="{media_type}"' in link_header
        assert f'<link rel="alternate" href="{url}" type="{media_type}">' in response.text


def test_hub_links_only_with_hub(settings: Settings) -> None:
    """`hub_links` gives rel=hub and rel=self (the home page) only when a hub is set."""
    assert feeds.hub_links(settings) == []
    assert feeds.hub_links(replace(settings, websub_hub=HUB)) == [
        SiteLink("hub", HUB),
        SiteLink("self", "https://example.test/"),
    ]


def test_topic_urls(settings: Settings) -> None:
    """The WebSub topics are the home page and the three feeds, all absolute."""
    assert feeds.topic_urls(settings) == [
        "https://example.test/",
        "https://example.test/feed.atom",
        "https://example.test/feed.rss",
        "https://example.test/feed.json",
    ]


async def _uploaded_photo_post(client: httpx.AsyncClient) -> bytes:
    """A photo post made through the Micropub endpoint; returns the photo as served."""
    headers = await bearer("create")
    files = {"photo": ("cat.jpg", image_bytes(), "image/jpeg")}
    created = await client.post(ENDPOINT, data={"content": "Cat"}, files=files, headers=headers)
    assert 201 == created.status_code, created.text
    photo = (await Post.get()).properties["photo"][0]
    served = await client.get(photo["value"] if isinstance(photo, dict) else photo)
    assert 200 == served.status_code
    return served.content


async def test_rss_enclosure_length_is_the_stored_files(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """An uploaded photo's RSS enclosure says its size in bytes, not 0."""
    served = await _uploaded_photo_post(client)
    enclosure = (await rss_channel(client)).find("item/enclosure")
    assert enclosure is not None
    assert (str(len(served)), "image/jpeg") == (enclosure.get("length"), enclosure.get("type"))
    parsed = feedparser.parse((await client.get("/feed.rss")).content)
    assert [str(len(served))] == [e["length"] for e in parsed.entries[0].enclosures]


async def test_atom_and_json_feed_give_the_stored_files_size(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    served = await _uploaded_photo_post(client)
    entry = (await atom(client)).find(f"{A}entry")
    assert entry is not None
    [link] = [link for link in entry.findall(f"{A}link") if link.get("rel") == "enclosure"]
    assert str(len(served)) == link.get("length")
    [attachment] = (await json_feed(client))["items"][0]["attachments"]
    assert len(served) == attachment["size_in_bytes"]


async def test_remote_photo_has_no_length_in_atom_or_json_feed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A photo on another site has no known size: Atom and JSON Feed leave it out."""
    await create_post({"photo": ["https://photos.example/cat.jpg"], "content": ["Cat"]})
    entry = (await atom(client)).find(f"{A}entry")
    assert entry is not None
    [link] = [link for link in entry.findall(f"{A}link") if link.get("rel") == "enclosure"]
    assert link.get("length") is None
    [attachment] = (await json_feed(client))["items"][0]["attachments"]
    assert "size_in_bytes" not in attachment
