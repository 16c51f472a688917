"""The public site as a reader and a feed reader see it: h-card, h-feed, permalinks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import mf2py

from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status, Visibility
from tests.conftest import BASE_URL


def parse(response: httpx.Response) -> dict[str, Any]:
    result: dict[str, Any] = mf2py.parse(doc=response.text, url=str(response.url))
    return result


def find(items: list[dict[str, Any]], mf_type: str) -> list[dict[str, Any]]:
    return [item for item in items if mf_type in item["type"]]


async def make_posts(count: int) -> list[Post]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        await create_post({"content": [f"Note number {n}"]}, published=start + timedelta(hours=n))
        for n in range(count)
    ]


async def test_home_has_representative_hcard(client: httpx.AsyncClient) -> None:
    """The home page's h-card has u-url and u-uid equal to the site URL, name, photo, note."""
    doc = parse(await client.get("/"))
    cards = find(doc["items"], "h-card")
    assert 1 == len(cards)
    props = cards[0]["properties"]
    assert [BASE_URL] == props["url"]
    assert [BASE_URL] == props["uid"]
    assert ["Alice Example"] == props["name"]
    assert "https://example.test/alice.jpg" in str(props["photo"])
    assert ["Writes things."] == props["note"]


async def test_empty_site_has_empty_feed(client: httpx.AsyncClient) -> None:
    """A new site answers 200 with an h-feed that has no entries."""
    response = await client.get("/")
    feeds = find(parse(response)["items"], "h-feed")
    assert 200 == response.status_code
    assert 1 == len(feeds)
    assert [] == feeds[0].get("children", [])


async def test_home_feed_lists_newest_first(client: httpx.AsyncClient) -> None:
    """Entries appear newest first with their permalinks."""
    made = await make_posts(3)
    feed = find(parse(await client.get("/"))["items"], "h-feed")[0]
    urls = [child["properties"]["url"][0] for child in feed["children"]]
    assert [BASE_URL + p.path for p in reversed(made)] == urls


async def test_home_pages_with_rel_next_and_prev(client: httpx.AsyncClient) -> None:
    """Paging by cursor walks every post exactly once, forward by rel=next and back by prev."""
    made = await make_posts(12)  # page_size is 5 in tests
    seen: list[str] = []
    url = "/"
    pages = []
    while url:
        doc = parse(await client.get(url))
        feed = find(doc["items"], "h-feed")[0]
        seen += [child["properties"]["url"][0] for child in feed["children"]]
        pages.append(doc)
        url = doc["rels"].get("next", [None])[0]
    assert [BASE_URL + p.path for p in reversed(made)] == seen
    assert 3 == len(pages)
    back = parse(await client.get(pages[2]["rels"]["prev"][0]))
    back_urls = [c["properties"]["url"][0] for c in find(back["items"], "h-feed")[0]["children"]]
    assert seen[5:10] == back_urls


async def test_paging_links_come_from_hearth_url_not_the_host_header(
    client: httpx.AsyncClient,
) -> None:
    """A forged Host header never reaches the page's absolute links (rel=next/prev)."""
    await make_posts(12)
    first = await client.get("/", headers={"Host": "evil.example"})
    assert "evil.example" not in first.text
    assert "evil.example" not in first.headers["link"]
    assert first.links["next"]["url"].startswith(BASE_URL + "?before=")
    second = await client.get(first.links["next"]["url"], headers={"Host": "evil.example"})
    assert second.links["prev"]["url"].startswith(BASE_URL + "?after=")
    tag = await client.get("/tag/demo", headers={"Host": "evil.example"})
    assert "evil.example" not in tag.text


async def test_new_post_does_not_shift_next_page(client: httpx.AsyncClient) -> None:
    """Keyset paging: a post published after page one was read does not repeat an entry."""
    await make_posts(8)
    first = parse(await client.get("/"))
    next_url = first["rels"]["next"][0]
    await create_post({"content": ["Brand new"]})
    second = parse(await client.get(next_url))
    first_urls = {c["properties"]["url"][0] for c in find(first["items"], "h-feed")[0]["children"]}
    second_urls = {
        c["properties"]["url"][0] for c in find(second["items"], "h-feed")[0]["children"]
    }
    assert set() == first_urls & second_urls
    assert 3 == len(second_urls)


async def test_malformed_cursor_is_400(client: httpx.AsyncClient) -> None:
    """A cursor Hearth did not make gets 400, not a server error."""
    for bad in ("zzz", "!!!", "MTIzNA", "bm90LmFuLmlk", "%00"):
        response = await client.get("/", params={"before": bad})
        assert 400 == response.status_code, bad
    assert 400 == (await client.get("/", params={"after": "x", "before": "y"})).status_code


async def test_permalink_has_full_hentry(client: httpx.AsyncClient) -> None:
    """A post with every property renders each with its microformats class."""
    post = await create_post(
        {
            "name": ["A full post"],
            "content": [{"html": "<p>Body with <a href='https://b.example/'>a link</a></p>"}],
            "category": ["indieweb", "tests"],
            "photo": [{"value": "https://cdn.example/p.jpg", "alt": "A cat on a mat"}],
            "video": ["https://cdn.example/v.mp4"],
            "syndication": ["https://silo.example/1"],
            "in-reply-to": ["https://other.example/post"],
        },
        published=datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC),
    )
    response = await client.get("/" + post.path)
    entry = find(parse(response)["items"], "h-entry")[0]["properties"]
    assert ["A full post"] == entry["name"]
    assert "Body with" in entry["content"][0]["html"]
    assert ["indieweb", "tests"] == entry["category"]
    assert [{"value": "https://cdn.example/p.jpg", "alt": "A cat on a mat"}] == entry["photo"]
    assert ["https://cdn.example/v.mp4"] == entry["video"]
    assert ["https://silo.example/1"] == entry["syndication"]
    assert ["https://other.example/post"] == entry["in-reply-to"]
    assert entry["published"][0].startswith("2026-05-04T03:02:01")
    assert BASE_URL + post.path == entry["uid"][0]
    assert BASE_URL + post.path in entry["url"]
    assert "Alice Example" == entry["author"][0]["properties"]["name"][0]


async def test_note_has_no_pname(client: httpx.AsyncClient) -> None:
    """An untitled note does not claim a name (so it is not mistaken for an article)."""
    post = await create_post({"content": ["Just a thought"]})
    html = (await client.get("/" + post.path)).text
    assert 'class="p-name"' not in html.split("<main>")[1].split('class="p-author')[0]


async def test_unicode_and_rtl_text(client: httpx.AsyncClient) -> None:
    """Unicode and right-to-left text survive intact; the permalink stays plain ASCII."""
    text = "שלום עולם — مرحبا بالعالم — Grüße 🌍"
    post = await create_post({"name": ["Ünïcødé & friends #1 + 100%"], "content": [text]})
    for char in "&+%#":
        assert char not in post.path
    response = await client.get("/" + post.path)
    entry = find(parse(response)["items"], "h-entry")[0]["properties"]
    assert text == entry["content"][0]["value"]
    assert ["Ünïcødé & friends #1 + 100%"] == entry["name"]


async def test_unknown_post_is_friendly_404(client: httpx.AsyncClient) -> None:
    """A missing permalink answers 404 with an HTML page."""
    response = await client.get("/2026/01/nothing-here")
    assert 404 == response.status_code
    assert "text/html" in response.headers["content-type"]
    assert "Not found" in response.text


async def test_deleted_post_is_410_tombstone(client: httpx.AsyncClient) -> None:
    """A deleted post answers 410 Gone, keeps no content or links, and leaves the feed."""
    post = await create_post(
        {"content": ["Secret words"], "in-reply-to": ["https://target.example/x"]}
    )
    post.deleted_at = datetime.now(UTC)
    await post.save()
    response = await client.get("/" + post.path)
    assert 410 == response.status_code
    assert "Secret words" not in response.text
    assert "target.example" not in response.text
    assert post.path not in (await client.get("/")).text


async def test_undeleted_post_returns_at_same_url(client: httpx.AsyncClient) -> None:
    """Clearing the deletion serves the post again at the very same URL."""
    post = await create_post({"content": ["Back again"]})
    post.deleted_at = datetime.now(UTC)
    await post.save()
    post.deleted_at = None
    await post.save()
    response = await client.get("/" + post.path)
    assert 200 == response.status_code
    assert "Back again" in response.text


async def test_private_and_draft_posts_are_hidden(client: httpx.AsyncClient) -> None:
    """Private posts and drafts appear neither in the feed nor at their permalinks."""
    private = await create_post({"content": ["private one"]}, visibility=Visibility.PRIVATE)
    draft = await create_post({"content": ["draft one"]}, status=Status.DRAFT)
    home = (await client.get("/")).text
    assert "private one" not in home and "draft one" not in home
    assert 404 == (await client.get("/" + private.path)).status_code
    assert 404 == (await client.get("/" + draft.path)).status_code
    assert 404 == (await client.get(f"/s/{draft.short_code}")).status_code


async def test_unlisted_post_has_permalink_but_no_listing(client: httpx.AsyncClient) -> None:
    """An unlisted post is reachable by its URL but is not on the home page."""
    post = await create_post({"content": ["quiet one"]}, visibility=Visibility.UNLISTED)
    assert "quiet one" not in (await client.get("/")).text
    assert 200 == (await client.get("/" + post.path)).status_code


async def test_permalink_advertises_shortlink(client: httpx.AsyncClient) -> None:
    """Every permalink carries rel=shortlink as a Link header and a <link> tag."""
    post = await create_post({"content": ["short"]})
    response = await client.get("/" + post.path)
    short = f"{BASE_URL}s/{post.short_code}"
    assert f'<{short}>; rel="shortlink"' in response.headers["link"]
    assert [short] == parse(response)["rels"]["shortlink"]


async def test_shortlink_redirects_301(client: httpx.AsyncClient) -> None:
    """/s/{code} answers 301 to the permalink, over plain http as well."""
    post = await create_post({"content": ["short"]})
    for base in (BASE_URL, "http://example.test/"):
        response = await client.get(f"{base}s/{post.short_code}")
        assert 301 == response.status_code
        assert BASE_URL + post.path == response.headers["location"]


async def test_shortlink_code_is_newbase60_of_type_and_day(client: httpx.AsyncClient) -> None:
    """The code is the type letter, three NewBase60 digits of epoch days and the ordinal."""
    first = await create_post({"content": ["a"]}, published=datetime(2026, 12, 31, tzinfo=UTC))
    second = await create_post({"content": ["b"]}, published=datetime(2026, 12, 31, tzinfo=UTC))
    photo = await create_post(
        {"photo": ["https://cdn.example/x.jpg"]}, published=datetime(2026, 12, 31, tzinfo=UTC)
    )
    assert ("t5my1", "t5my2", "p5my1") == (first.short_code, second.short_code, photo.short_code)


async def test_shortlink_forgives_lookalike_characters(client: httpx.AsyncClient) -> None:
    """A hand-typed code with O for 0 still finds the post."""
    post = await create_post({"content": ["typed"]}, published=datetime(2025, 1, 1, tzinfo=UTC))
    assert "t5_p1" == post.short_code
    assert 301 == (await client.get("/s/t5-p1")).status_code


async def test_unknown_shortlink_is_404_and_deleted_is_410(client: httpx.AsyncClient) -> None:
    """Unknown codes are 404; the code of a deleted post is 410."""
    post = await create_post({"content": ["gone"]})
    post.deleted_at = datetime.now(UTC)
    await post.save()
    assert 404 == (await client.get("/s/zzzz")).status_code
    assert 410 == (await client.get(f"/s/{post.short_code}")).status_code


async def test_etag_gives_304(client: httpx.AsyncClient) -> None:
    """Permalinks and the home page answer 304 to a matching If-None-Match."""
    post = await create_post({"content": ["cache me"]})
    for url in ("/", "/" + post.path):
        first = await client.get(url)
        again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert 304 == again.status_code
        assert b"" == again.content
        assert first.headers["etag"] == again.headers["etag"]


async def test_last_modified_gives_304(client: httpx.AsyncClient) -> None:
    """If-Modified-Since at or after Last-Modified gets 304; an older date gets the page."""
    post = await create_post({"content": ["dated"]})
    first = await client.get("/" + post.path)
    since = first.headers["last-modified"]
    assert (
        304 == (await client.get("/" + post.path, headers={"If-Modified-Since": since})).status_code
    )
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (
        200 == (await client.get("/" + post.path, headers={"If-Modified-Since": old})).status_code
    )


async def test_etag_changes_when_post_changes(client: httpx.AsyncClient) -> None:
    """Editing a post gives its page a new ETag, so caches refetch."""
    post = await create_post({"content": ["v1"]})
    first = await client.get("/" + post.path)
    post.properties = {"content": ["v2"]}
    await post.save()
    second = await client.get("/" + post.path, headers={"If-None-Match": first.headers["etag"]})
    assert 200 == second.status_code
    assert "v2" in second.text


async def test_head_has_same_headers_as_get(client: httpx.AsyncClient) -> None:
    """HEAD on public pages answers with the headers GET would send."""
    post = await create_post({"content": ["head"]})
    for url in ("/", "/" + post.path, "/tag/x", "/nope/nope/nope"):
        get = await client.get(url)
        head = await client.head(url)
        assert get.status_code == head.status_code
        for name in ("content-type", "etag", "link", "last-modified", "content-length"):
            assert get.headers.get(name) == head.headers.get(name), (url, name)


async def test_tag_page_lists_tagged_public_posts(client: httpx.AsyncClient) -> None:
    """/tag/{name} lists public posts with that category, case-insensitively."""
    tagged = await create_post({"content": ["tagged"], "category": ["Coffee"]})
    await create_post({"content": ["untagged"], "category": ["tea"]})
    await create_post({"content": ["hidden"], "category": ["coffee"]}, status=Status.DRAFT)
    doc = parse(await client.get("/tag/coffee"))
    children = find(doc["items"], "h-feed")[0]["children"]
    assert [BASE_URL + tagged.path] == [c["properties"]["url"][0] for c in children]


async def test_permalinks_are_stable_and_unique(client: httpx.AsyncClient) -> None:
    """Two posts with the same title get distinct permalinks that answer without redirects."""
    first = await create_post({"name": ["Same title"], "content": ["one"]})
    second = await create_post({"name": ["Same title"], "content": ["two"]})
    assert first.path != second.path
    for post in (first, second):
        assert 200 == (await client.get("/" + post.path)).status_code


async def test_tag_with_slash_and_unicode_links_to_its_page(client: httpx.AsyncClient) -> None:
    """Tags like "a/b" and "café" link to a tag page that lists their post."""
    post = await create_post({"content": ["tagged oddly"], "category": ["a/b", "Café"]})
    html = (await client.get("/" + post.path)).text
    tag_links = re.findall(r'class="p-category" href="([^"]+)"', html)
    assert 2 == len(tag_links)
    for link in tag_links:
        children = find(parse(await client.get(link))["items"], "h-feed")[0]["children"]
        assert [BASE_URL + post.path] == [c["properties"]["url"][0] for c in children]


async def test_person_tag_urls_get_no_tag_page(client: httpx.AsyncClient) -> None:
    """A category that is a URL (a person tag) is not listed as a topic."""
    await create_post({"content": ["hi"], "category": ["https://alice.example/"]})
    response = await client.get("/tag/https://alice.example/")
    assert [] == find(parse(response)["items"], "h-feed")[0].get("children", [])


async def test_slug_ignores_script_text(client: httpx.AsyncClient) -> None:
    """A slug made from HTML content never includes the text of a script element."""
    post = await create_post({"content": [{"html": "<p>Hi</p><script>alert(1)</script>"}]})
    assert "alert" not in post.path


async def test_feed_entries_show_response_counts(client: httpx.AsyncClient) -> None:
    """A post with shown likes and replies carries their counts in the h-feed."""
    from hearth.server.core.models import Approval, Interaction, InteractionState

    post = await create_post({"content": ["liked post"]})
    for n, kind in enumerate(["like", "like", "reply", "like"]):
        await Interaction.create(
            source=f"https://fan{n}.example/{kind}",
            target=BASE_URL + post.path,
            source_target_hash=f"{n:064d}",
            post=post,
            state=InteractionState.ACCEPTED,
            approval=Approval.APPROVED if n < 3 else Approval.WAITING,
            status_token=f"token{n}",
            domain=f"fan{n}.example",
            kind=kind,
        )
    home = (await client.get("/")).text
    assert "2 likes" in home
    assert "1 reply" in home
