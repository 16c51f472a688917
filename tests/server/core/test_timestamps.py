"""Times Hearth chooses: whole seconds, and one spelling that every reader reads alike.

Covers `server/core/timestamps.py` and its users: the permalink's `dt-published`, the three
feeds and Micropub `q=source` of a post created without `published`, read by mf2py, the
JavaScript microformats-parser (where Node and it are installed) and feedparser.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone

import feedparser
import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.core import timestamps
from hearth.server.core.models import Post
from hearth.server.core.render_types import moment
from tests.micropub.endpoint_helpers import bearer, entry_of, post_form, post_json, source
from tests.nodetools import parse_mf2_js, require_node_mf2

WHOLE_SECONDS_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


async def _post_without_published(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    headers = await bearer("create")
    response = await post_form(client, "h=entry&content=What+time+is+it", headers)
    assert 201 == response.status_code
    return response.headers["location"], headers


async def _source_published(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> str:
    answer = (await source(client, headers, url)).json()
    [published] = answer["properties"]["published"]
    assert isinstance(published, str)
    return published


async def test_hearth_stores_whole_seconds(app: Starlette, client: httpx.AsyncClient) -> None:
    await _post_without_published(client)
    assert 0 == (await Post.get()).published.microsecond


async def test_page_and_source_agree(app: Starlette, client: httpx.AsyncClient) -> None:
    """mf2py reads the page's dt-published as exactly what q=source says."""
    url, headers = await _post_without_published(client)
    published = await _source_published(client, headers, url)
    assert WHOLE_SECONDS_UTC.fullmatch(published), published
    assert [published] == entry_of(await client.get(url))["properties"]["published"]
    assert f'datetime="{published}"' in (await client.get(url)).text


async def test_microformats_parser_agrees_with_mf2py(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """The JavaScript parser (which keeps fractions mf2py drops) reads the same value."""
    require_node_mf2()
    url, headers = await _post_without_published(client)
    page = await client.get(url)
    parsed = parse_mf2_js(page.text, url)
    [entry] = [item for item in parsed["items"] if "h-entry" in item["type"]]
    by_js = entry["properties"]["published"]
    assert entry_of(page)["properties"]["published"] == by_js
    assert [await _source_published(client, headers, url)] == by_js


@pytest.mark.parametrize("path", ["/feed.atom", "/feed.rss"])
async def test_feeds_agree_with_the_page(
    app: Starlette, client: httpx.AsyncClient, path: str
) -> None:
    """feedparser reads the same moment from Atom and RSS as q=source gives."""
    url, headers = await _post_without_published(client)
    published = await _source_published(client, headers, url)
    entry = feedparser.parse((await client.get(path)).content).entries[0]
    read = datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC)
    assert datetime.fromisoformat(published) == read
    if path == "/feed.atom":  # RSS writes RFC 822 dates, Atom the same RFC 3339 string
        assert published == entry.published


async def test_json_feed_agrees_with_the_page(app: Starlette, client: httpx.AsyncClient) -> None:
    """JSON Feed's date_published is the same string (feedparser 6 reads no JSON Feed)."""
    url, headers = await _post_without_published(client)
    [item] = (await client.get("/feed.json")).json()["items"]
    assert await _source_published(client, headers, url) == item["date_published"]


async def test_updated_is_whole_seconds(app: Starlette, client: httpx.AsyncClient) -> None:
    url, _ = await _post_without_published(client)
    edit = {"action": "update", "url": url, "replace": {"content": ["Later"]}}
    assert 204 == (await post_json(client, edit, await bearer("update"))).status_code
    post = await Post.get()
    assert post.updated is not None and 0 == post.updated.microsecond
    assert [timestamps.rfc3339(post.updated)] == entry_of(await client.get(url))["properties"][
        "updated"
    ]


def test_rfc3339_whole_seconds_in_utc() -> None:
    when = datetime(2026, 12, 6, 23, 12, 20, tzinfo=timezone(timedelta(hours=1)))
    assert "2026-12-06T22:12:20Z" == timestamps.rfc3339(when)


def test_rfc3339_keeps_a_fraction_to_milliseconds() -> None:
    """A client's fractional time (stored as sent) is written as HTML allows: 3 digits."""
    when = datetime(2026, 12, 6, 22, 12, 20, 57663, tzinfo=UTC)
    assert "2026-12-06T22:12:20.057Z" == timestamps.rfc3339(when)


def test_rfc822() -> None:
    assert "Sun, 06 Dec 2026 22:12:20 GMT" == timestamps.rfc822(
        datetime(2026, 12, 6, 22, 12, 20, tzinfo=UTC)
    )


def test_now_is_whole_seconds() -> None:
    assert 0 == timestamps.now().microsecond


def test_a_clients_long_fraction_gets_a_valid_datetime_attribute() -> None:
    """Six digits of a second, as a client may send, is cut to three for `datetime`."""
    shown = moment("2026-12-06T22:12:20.057663+01:00")
    assert "2026-12-06T22:12:20.057+01:00" == shown.datetime
    assert "2026-12-06 22:12 +01:00" == shown.label


def test_a_clients_valid_time_is_kept_as_sent() -> None:
    assert "2026-12-06T22:12:20-0800" == moment("2026-12-06T22:12:20-0800").datetime
