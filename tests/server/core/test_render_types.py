"""Rendering posts, one behaviour at a time: safety, accessibility and exact round trips.

The golden round trips per post type are in test_render_golden.py; these are the edges.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import html5lib
import httpx
import mf2py

from hearth.server.core import post_types
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.render_types import Moment, Value, moment, sanitize_html, value_view

WHEN = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


async def page_of(client: httpx.AsyncClient, post: Post) -> tuple[str, dict[str, Any]]:
    """The permalink's HTML (checked to be valid HTML5) and its parsed h-entry/h-event."""
    response = await client.get("/" + post.path)
    assert 200 == response.status_code
    html5lib.HTMLParser(strict=True).parse(response.text)
    doc = mf2py.parse(doc=response.text, url=str(response.url))
    items = [i for i in doc["items"] if {"h-entry", "h-event"} & set(i["type"])]
    return response.text, items[0]["properties"]


def main_of(html: str) -> str:
    return html.split("<main>")[1].split("</main>")[0]


# --- Safety -----------------------------------------------------------------------------


async def test_script_and_event_handlers_in_html_content_are_inert(
    client: httpx.AsyncClient,
) -> None:
    """script, on* handlers and javascript: URLs are gone; the harmless rest is kept."""
    post = await create_post(
        {
            "content": [
                {
                    "html": '<p>Hi <script>alert("s")</script><img src="x.png" onerror="alert(1)">'
                    '<a href="javascript:alert(2)">j</a> <a href="https://ok.example/">ok</a>'
                    '<iframe src="https://evil.example/"></iframe><style>p{}</style></p>'
                }
            ]
        }
    )
    html, entry = await page_of(client, post)
    content = main_of(html).split('class="e-content"')[1].split("</div>")[0].lower()
    for bad in ("<script", "onerror", "javascript:", "alert", "<iframe", "<style"):
        assert bad not in content, bad
    assert 'href="https://ok.example/"' in content
    assert entry["content"][0]["value"].startswith("Hi ")
    assert entry["content"][0]["value"].endswith(" j ok")


async def test_markup_in_names_and_text_is_shown_as_text(client: httpx.AsyncClient) -> None:
    """A name or plain content with markup is escaped, and parses back as the same text."""
    name = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    post = await create_post({"name": [name], "content": ["a <b>plain</b> note & more"]})
    html, entry = await page_of(client, post)
    assert "<script" not in main_of(html)
    assert "&lt;script&gt;" in main_of(html)
    assert [name] == entry["name"]
    assert "a <b>plain</b> note & more" == entry["content"][0]["value"]


async def test_cite_with_a_dangerous_url_is_dropped(client: httpx.AsyncClient) -> None:
    """An h-cite whose only URL is javascript: or data: is not rendered at all."""
    post = await create_post(
        {
            "content": ["Quoting"],
            "in-reply-to": [
                {"type": ["h-cite"], "properties": {"url": ["javascript:alert(1)"], "name": ["E"]}}
            ],
            "quotation-of": [
                {
                    "type": ["h-cite"],
                    "properties": {"url": ["data:text/html,<b>x</b>"], "content": ["Evil"]},
                }
            ],
        }
    )
    html, entry = await page_of(client, post)
    assert "javascript:" not in html and "data:text" not in html and "Evil" not in html
    assert "in-reply-to" not in entry and "quotation-of" not in entry


async def test_dangerous_urls_are_dropped_everywhere(client: httpx.AsyncClient) -> None:
    """Photos, response targets, syndication links and author URLs keep http(s) only."""
    post = await create_post(
        {
            "photo": ["javascript:alert(1)", "https://cdn.example/ok.jpg"],
            "like-of": ["vbscript:msgbox(1)"],
            "syndication": ["data:text/html,x"],
            "repost-of": [
                {
                    "type": ["h-cite"],
                    "properties": {
                        "url": ["https://ok.example/post"],
                        "author": [{"type": ["h-card"], "properties": {"url": ["javascript:x"]}}],
                    },
                }
            ],
        }
    )
    html, entry = await page_of(client, post)
    for bad in ("javascript:", "vbscript:", "data:"):
        assert bad not in html
    assert ["https://cdn.example/ok.jpg"] == entry["photo"]
    assert "author" not in entry["repost-of"][0]["properties"]


def test_mf2_property_classes_are_removed_from_content() -> None:
    """Pasted p-name/u-*/dt-*/e-* classes cannot add properties; h-card roots stay."""
    cleaned = sanitize_html(
        '<a class="p-name u-url h-card fancy" href="/me">Me</a><span class="dt-published">x</span>',
        "https://example.test/2026/05/post",
    )
    assert (
        '<a class="h-card fancy" href="https://example.test/me" rel="noopener nofollow ugc">Me'
        "</a><span>x</span>"
    ) == str(cleaned)


async def test_pasted_name_class_does_not_turn_a_note_into_an_article(
    client: httpx.AsyncClient,
) -> None:
    """HTML content holding class="p-name" still parses as a note."""
    post = await create_post({"content": [{"html": '<p><span class="p-name">Title?</span></p>'}]})
    _, entry = await page_of(client, post)
    assert "name" not in entry
    assert "note" == post_types.discover("entry", entry)


def test_unsafe_cite_attribute_is_removed() -> None:
    """nh3 checks href and src schemes; Hearth checks blockquote/q cite as well."""
    cleaned = sanitize_html('<blockquote cite="javascript:x">q</blockquote>')
    assert "<blockquote>q</blockquote>" == str(cleaned)


async def test_misnested_html_content_still_makes_a_valid_page(client: httpx.AsyncClient) -> None:
    """Broken client HTML is repaired by the sanitizer, so the page stays valid HTML5."""
    broken = (
        "<b><i>x</b>y</i><p>a<div>b</div>c</p><table>stray<td>1</table>"
        "<a href='https://a.example/'>1<a href='https://b.example/'>2</a></a>"
        "<ul><li>a<li>b</ul></li><h1><h2>x</h1></h2><p><table><tr><td>x</table></p><p>open <em>em"
    )
    post = await create_post({"name": ["Broken"], "content": [{"html": broken}]})
    await page_of(client, post)  # parses the page in html5lib's strict mode


# --- Text round trips -------------------------------------------------------------------


async def test_plain_text_keeps_every_space_and_newline(client: httpx.AsyncClient) -> None:
    """Leading newline, blank lines, indentation, runs of spaces and tabs all come back."""
    text = "\nFirst line\n\n    indented  twice\tand tabbed\ntrailing spaces   \n"
    post = await create_post({"content": [text]})
    _, entry = await page_of(client, post)
    assert text == entry["content"][0]["value"]


async def test_rtl_text_round_trips_with_direction_auto(client: httpx.AsyncClient) -> None:
    """Hebrew and Arabic names and content come back exactly, marked dir="auto"."""
    name = "מאמר על אתרים עצמאיים"
    text = "مرحبا بالعالم\nשלום עולם"
    post = await create_post({"name": [name], "content": [text]})
    html, entry = await page_of(client, post)
    assert [name] == entry["name"]
    assert text == entry["content"][0]["value"]
    assert f'<h1 class="p-name" dir="auto">{name}</h1>' in html
    assert '<pre class="e-content plain" dir="auto">' in html


async def test_html_content_parses_to_the_sanitized_html(client: httpx.AsyncClient) -> None:
    """mf2py's e-content html is what sanitize_html gave, relative URLs made absolute."""
    post = await create_post(
        {"name": ["Links"], "content": [{"html": '<p><a href="/a">A</a></p>'}]}
    )
    _, entry = await page_of(client, post)
    assert (
        '<p><a href="https://example.test/a" rel="noopener nofollow ugc">A</a></p>'
        == entry["content"][0]["html"]
    )


async def test_name_repeating_the_content_stays_a_note(client: httpx.AsyncClient) -> None:
    """A name that is just the content's start is kept (as data, not shown): still a note."""
    post = await create_post({"name": ["Just a"], "content": ["Just a thought"]})
    html, entry = await page_of(client, post)
    assert ["Just a"] == entry["name"]
    assert "note" == post.post_type == post_types.discover("entry", entry)
    assert '<data class="p-name" value="Just a"></data>' in html


# --- Photos and accessibility -----------------------------------------------------------


async def test_alt_text_with_quotes_is_escaped_and_round_trips(client: httpx.AsyncClient) -> None:
    """Quotes, ampersands and angle brackets in alt text stay inside the attribute."""
    alt = 'She said "cheese" & <smiled>'
    post = await create_post({"photo": [{"value": "https://cdn.example/a.jpg", "alt": alt}]})
    html, entry = await page_of(client, post)
    assert 'alt="She said &#34;cheese&#34; &amp; &lt;smiled&gt;"' in html
    assert [{"value": "https://cdn.example/a.jpg", "alt": alt}] == entry["photo"]


async def test_photos_keep_their_order_and_alt(client: httpx.AsyncClient) -> None:
    """Several photos come back in the order sent, each with its own alt text (or none)."""
    photos = [
        {"value": "https://cdn.example/c.jpg", "alt": "Third taken, first shown"},
        "https://cdn.example/a.jpg",
        {"value": "https://cdn.example/b.jpg", "alt": "Second"},
    ]
    post = await create_post({"photo": photos})
    _, entry = await page_of(client, post)
    assert photos == entry["photo"]


async def test_photo_without_alt_has_a_caption_instead(client: httpx.AsyncClient) -> None:
    """No alt text given: no made-up alt (mf2 readers see none), but an accessible name and a
    figure caption that screen readers announce."""
    post = await create_post({"photo": ["https://cdn.example/a.jpg"]})
    html, entry = await page_of(client, post)
    assert ["https://cdn.example/a.jpg"] == entry["photo"]
    assert (
        '<figure class="photo"><img class="u-photo" src="https://cdn.example/a.jpg"'
        ' aria-label="Image without a description">'
        '<figcaption class="visually-hidden">Image without a description</figcaption></figure>'
    ) in html


async def test_untitled_permalink_still_has_a_heading(client: httpx.AsyncClient) -> None:
    """A like has no name; its page gets a visually hidden h1 that is not a p-name."""
    post = await create_post({"like-of": ["https://example.com/p"]})
    html, entry = await page_of(client, post)
    assert '<h1 class="visually-hidden">Like</h1>' in html
    assert "name" not in entry
    assert '<div class="context">Liked <a class="u-like-of"' in html


async def test_video_poster_and_fallback_link(client: httpx.AsyncClient) -> None:
    """A video sent with a poster shows it; the fallback link names the file."""
    post = await create_post(
        {"video": [{"value": "https://cdn.example/v.mp4", "poster": "https://cdn.example/v.jpg"}]}
    )
    html, entry = await page_of(client, post)
    assert 'poster="https://cdn.example/v.jpg"' in html
    assert '<a href="https://cdn.example/v.mp4">Download the video</a>' in html
    assert ["https://cdn.example/v.mp4"] == entry["video"]


# --- Responses, tags, dates -------------------------------------------------------------


async def test_rsvp_label_carries_the_value(client: httpx.AsyncClient) -> None:
    """An RSVP reads "Maybe going to <event>" and parses as rsvp maybe + in-reply-to."""
    post = await create_post({"rsvp": ["maybe"], "in-reply-to": ["https://example.com/event"]})
    html, entry = await page_of(client, post)
    assert '<data class="p-rsvp" value="maybe">Maybe going to</data>' in html
    assert ["maybe"] == entry["rsvp"]
    assert ["https://example.com/event"] == entry["in-reply-to"]


async def test_person_tags_are_hcards_not_tag_links(client: httpx.AsyncClient) -> None:
    """URL and h-card categories become u-category h-cards; plain ones link to tag pages."""
    card = {"type": ["h-card"], "properties": {"name": ["Ada"], "url": ["https://ada.example/"]}}
    post = await create_post({"content": ["Hi"], "category": ["tea", "https://bo.example/", card]})
    html, entry = await page_of(client, post)
    assert "tag/https" not in html
    tea, bo, ada = entry["category"]
    assert "tea" == tea
    assert ("https://bo.example/", ["h-card"]) == (bo["value"], bo["type"])
    assert {"name": ["Ada"], "url": ["https://ada.example/"]} == ada["properties"]


async def test_published_keeps_the_clients_offset(client: httpx.AsyncClient) -> None:
    """dt-published carries the string the client sent, not the stored UTC time."""
    post = await create_post(
        {"content": ["x"], "published": ["2026-05-01T09:30:00+02:00"]}, published=WHEN
    )
    html, entry = await page_of(client, post)
    assert 'datetime="2026-05-01T09:30:00+02:00">2026-05-01 09:30 +02:00</time>' in html
    assert ["2026-05-01T09:30:00+0200"] == entry["published"]  # mf2py drops the colon


async def test_published_that_is_not_a_date_falls_back(client: httpx.AsyncClient) -> None:
    """A published property that is no datetime is not trusted: the stored time is shown."""
    post = await create_post({"content": ["x"], "published": ["last tuesday"]}, published=WHEN)
    _, entry = await page_of(client, post)
    assert ["2026-05-04T03:02:01Z"] == entry["published"]


def test_moment_labels() -> None:
    """Dates read as people write them; the machine value stays the client's string."""
    assert Moment("2026-06-03T18:00-07:00", "2026-06-03 18:00 -07:00") == moment(
        "2026-06-03T18:00-07:00"
    )
    assert Moment("2026-06-03", "2026-06-03") == moment("2026-06-03")
    assert Moment("2026-06-03T18:00:00Z", "2026-06-03 18:00 UTC") == moment("2026-06-03T18:00:00Z")
    assert Moment("2026-06-03 18:00", "2026-06-03 18:00") == moment("2026-06-03 18:00")
    assert Moment(None, "soon") == moment("soon")


def test_location_values() -> None:
    """A location is a geo: URI, a URL, plain text or a nested object."""
    base = "https://example.test/p"
    geo = value_view("geo:52.47,13.40;u=35", base)
    assert geo == Value("geo", "geo:52.47,13.40;u=35")
    assert "52.47, 13.40" == geo.label
    assert Value("text", "Berlin") == value_view("Berlin", base)
    assert Value("url", "https://osm.example/1") == value_view("https://osm.example/1", base)
    adr = value_view({"type": ["h-adr"], "properties": {"latitude": [52.5]}}, base)
    assert adr is not None and adr.item is not None
    assert "52.5" == adr.text == adr.item.fields[0].text
    assert value_view({"type": ["h-card"], "properties": {"url": ["javascript:x"]}}, base) is None
