"""The public site for people: the "Send a webmention" form, link previews (Open Graph and
Twitter cards), the navigation and tags page, and the owner's Edit link on permalinks.

Specs: https://www.w3.org/TR/webmention/ (the form posts to the site's own endpoint),
https://ogp.me/ and https://developer.x.com/en/docs/x-for-websites/cards (link previews).
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from bs4 import BeautifulSoup
from starlette.applications import Starlette

from hearth.server.core.models import Interaction, InteractionState, Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Visibility
from tests.conftest import BASE_URL

SOURCE = "https://bob.example/replies/1"


def soup(response: httpx.Response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html"), response.text
    return BeautifulSoup(response.text, "html.parser")


def meta(page: BeautifulSoup) -> dict[str, str]:
    """The page's `<meta property|name=... content=...>`, by property or name."""
    found = {}
    for tag in page.find_all("meta"):
        key = tag.get("property") or tag.get("name")
        if key:
            found[str(key)] = str(tag.get("content"))
    return found


async def photo_post() -> Post:
    return await create_post(
        {
            "name": ["Seaside"],
            "content": ["A long walk   by the\nsea. " + "More words. " * 40],
            "photo": [{"value": "/media/sea.jpg", "alt": "Waves"}, "https://cdn.example/2.jpg"],
            "category": ["Travel", "sea"],
        },
        published=datetime(2026, 5, 4, tzinfo=UTC),
    )


# The "Send a webmention" form ------------------------------------------------------------------


async def test_permalink_has_a_labelled_webmention_form(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A field labelled "Your post's URL" (source), the permalink as target, the button."""
    page = soup(await client.get("/" + post.path))
    form = page.find("form", action=BASE_URL + "webmention")
    assert form is not None and "post" == form["method"]
    source = form.find("input", attrs={"name": "source"})
    assert "url" == source["type"] and source.has_attr("required")
    label = form.find("label", attrs={"for": source["id"]})
    assert "Your post's URL" == label.get_text(strip=True)
    target = form.find("input", attrs={"name": "target"})
    assert ("hidden", BASE_URL + post.path) == (target["type"], target["value"])
    assert "Send webmention" == form.find("button").get_text(strip=True)
    assert "Send a webmention" == page.find(id="send-webmention-heading").get_text()


async def test_sending_the_form_creates_a_webmention_and_answers_a_page(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A browser's form post is a webmention like any other (201, Location, a pending row,
    its verification queued), answered with a page that links to its status and back."""
    answer = await client.post(
        "/webmention",
        data={"source": SOURCE, "target": BASE_URL + post.path},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )
    assert 201 == answer.status_code
    row = await Interaction.get(source=SOURCE)
    assert (InteractionState.PENDING, post.id) == (row.state, row.post_id)  # type: ignore[attr-defined]
    status_url = f"{BASE_URL}webmention/status/{row.status_token}"
    assert status_url == answer.headers["location"]
    page = soup(answer)
    assert "Thank you: webmention received" == page.h1.get_text()
    assert page.find("a", href=status_url) is not None
    assert "Back to the post" == page.find("a", href=BASE_URL + post.path).get_text()


async def test_a_refused_form_answers_a_page_saying_why(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A source that is not a URL: 400, the reason on a page, and the way back."""
    answer = await client.post(
        "/webmention",
        data={"source": "my blog", "target": BASE_URL + post.path},
        headers={"Accept": "text/html"},
    )
    assert 400 == answer.status_code
    page = soup(answer)
    assert "Webmention not sent" == page.h1.get_text()
    assert "source must be an absolute http:// or https:// URL" in page.get_text()
    assert page.find("a", href=BASE_URL + post.path) is not None
    assert 0 == await Interaction.all().count()


async def test_senders_still_get_plain_text(client: httpx.AsyncClient, post: Post) -> None:
    """Sites sending webmentions (no HTML in Accept) get the answers they always got."""
    sent = await client.post("/webmention", data={"source": SOURCE, "target": BASE_URL + post.path})
    assert (201, "text/plain") == (sent.status_code, sent.headers["content-type"].split(";")[0])
    bad = await client.post("/webmention", data={"source": "x", "target": BASE_URL})
    assert (400, "text/plain") == (bad.status_code, bad.headers["content-type"].split(";")[0])


# Link previews -----------------------------------------------------------------------------------


async def test_permalink_previews_are_absolute_from_the_settings(
    client: httpx.AsyncClient,
) -> None:
    """og:* and twitter:* on a photo post; a forged Host header changes no URL."""
    post = await photo_post()
    response = await client.get("/" + post.path, headers={"Host": "evil.example"})
    assert "evil.example" not in response.text
    tags = meta(soup(response))
    assert "article" == tags["og:type"]
    assert "Seaside" == tags["og:title"] == tags["twitter:title"]
    assert BASE_URL + post.path == tags["og:url"]
    assert BASE_URL + "media/sea.jpg" == tags["og:image"] == tags["twitter:image"]
    assert "Waves" == tags["og:image:alt"]
    assert "summary_large_image" == tags["twitter:card"]
    description = tags["og:description"]
    assert description.startswith("A long walk by the sea. More words.")
    assert len(description) <= 200 and description.endswith("…")
    assert "Alice Example" == tags["og:site_name"]


async def test_a_post_without_photo_is_a_summary_card(
    client: httpx.AsyncClient, post: Post
) -> None:
    tags = meta(soup(await client.get("/" + post.path)))
    assert "summary" == tags["twitter:card"]
    assert "og:image" not in tags
    assert "Hello, world" == tags["og:description"]


async def test_home_page_previews_the_owner(client: httpx.AsyncClient) -> None:
    """The home page: site name, the h-card's note and photo, absolute from HEARTH_URL."""
    response = await client.get("/", headers={"Host": "evil.example:8080"})
    assert "evil.example" not in response.text
    tags = meta(soup(response))
    assert ("website", BASE_URL) == (tags["og:type"], tags["og:url"])
    assert "Alice Example" == tags["og:title"] == tags["og:site_name"]
    assert "Writes things." == tags["og:description"]
    assert "https://example.test/alice.jpg" == tags["og:image"]


# Navigation, tags and the owner's Edit link ----------------------------------------------------


async def test_every_page_links_home_tags_feeds_and_sign_in(
    client: httpx.AsyncClient, post: Post
) -> None:
    for path in ("/", "/" + post.path, "/tags", "/tag/x"):
        page = soup(await client.get(path))
        nav = page.find("nav", attrs={"aria-label": "Site"})
        links = {a.get_text(): a["href"] for a in nav.find_all("a")}
        feed = BASE_URL + "feed.atom"
        assert {"Home": BASE_URL, "Tags": BASE_URL + "tags", "Feed": feed} == links, path
        assert page.find("a", href=BASE_URL + "signin") is not None, path


async def test_tags_page_counts_public_posts(client: httpx.AsyncClient) -> None:
    """Each tag of a public post once, lower-cased, with its count and its page."""
    await photo_post()
    await create_post({"content": ["b"], "category": ["sea"]})
    await create_post({"content": ["c"], "category": ["secret"]}, visibility=Visibility.PRIVATE)
    page = soup(await client.get("/tags"))
    items = [li.get_text(" ", strip=True) for li in page.select("ul.tag-list li")]
    assert ["#sea (2 posts)", "#travel (1 post)"] == items
    assert page.find("a", href=BASE_URL + "tag/travel") is not None
    assert "secret" not in page.get_text()


async def test_the_edit_link_is_for_the_owner_only(
    app: Starlette, client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    edit = f"{BASE_URL}admin/posts/{post.id}/edit"
    owner_page = soup(await client.get("/" + post.path))
    assert "Edit" == owner_page.find("a", href=edit).get_text()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as anonymous:
        reader_page = soup(await anonymous.get("/" + post.path))
    assert reader_page.find("a", href=edit) is None
    assert "/edit" not in reader_page.decode()
