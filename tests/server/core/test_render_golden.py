"""Golden files: every post type, sent as a Micropub request, comes back from its permalink.

For each case the request body goes through `hearth.micropub.parsing` (as the endpoint will),
`hearth.server.core.posts.create_post` stores it, and mf2py parses the permalink. The inputs are the
micropub golden requests (tests/micropub/data/type-*) and the variants in
data/post_types/<case>.request.{json,form} (nested h-cites, person tags, geo: URIs ...).

- `data/post_types/<case>.mf2.json` is the parsed h-entry (or h-event), exactly. There is no
  regeneration switch: the files were written once and read by eye, and a deliberate change
  edits them by hand, diff reviewed. Every case has one today; a type-* request added to
  tests/micropub later is round-tripped at once and compared once its recording is written.
- Independently of the golden file, the parse must give back every property the client
  sent, up to the differences server/core/render_types.py documents (numbers as strings, mf2py's
  datetime form, `value`/`lang` on nested objects, implied names, re-serialised HTML), and
  post type discovery on it must give the type the case is named after.
- The same entry in the home page's h-feed parses the same, and both pages are valid HTML5
  (html5lib in strict mode raises on any parse error).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import html5lib
import httpx
import mf2py
import pytest
from bs4 import BeautifulSoup

from hearth.server.core import post_types
from hearth.server.core.models import Post
from hearth.server.core.posts import create_post
from hearth.server.core.render import sanitize_html
from tests.micropub.micropub_cases import Case, load_cases, parse_case

DATA = Path(__file__).parent / "data" / "post_types"
# Published time of posts whose request has no `published` (the endpoint uses "now").
FIXED = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)
# What the page adds to what the client sent.
SERVER_PROPERTIES = {"url", "uid", "author", "published", "updated"}
DATETIME_PROPERTIES = {"published", "updated", "start", "end"}


def _own_cases() -> list[Case]:
    cases = []
    for path in sorted(DATA.glob("*.request.*")):
        name, _, suffix = path.name.partition(".request")
        cases.append(Case(name, suffix, path.read_bytes(), path))
    return cases


CASES = [case for case in load_cases() if case.name.startswith("type-")] + _own_cases()
IDS = [case.name for case in CASES]
GOLDEN = {path.name.removesuffix(".mf2.json") for path in DATA.glob("*.mf2.json")}


def post_type_of(case: Case) -> str:
    """The type a case is named after: type-<type>-... or <type>-<variant>."""
    return case.name.removeprefix("type-").split("-")[0]


def parse_page(response: httpx.Response) -> dict[str, Any]:
    doc: dict[str, Any] = mf2py.parse(doc=response.text, url=str(response.url))
    return doc


def the_item(doc: dict[str, Any]) -> dict[str, Any]:
    items = [i for i in doc["items"] if {"h-entry", "h-event"} & set(i["type"])]
    assert 1 == len(items)
    return items[0]


async def publish(case: Case) -> Post:
    """Store the case's request as the endpoint does (a sent `published` is kept)."""
    request = await parse_case(case)
    assert request.h_type is not None
    properties = dict(request.properties)
    published = FIXED
    if sent := properties.get("published"):
        published = datetime.fromisoformat(sent[0])
    return await create_post(properties, h_type=request.h_type, published=published)


# --- What "gives back what the client sent" means ----------------------------------------


def mf2py_datetime(value: str) -> str:
    """mf2py's form of a datetime: fractional seconds dropped, no colon in the offset."""
    match = re.fullmatch(r"(.+?\d\d:\d\d(?::\d\d)?)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?", value)
    if match is None:
        return value
    return match[1] + (match[2] or "").replace(":", "")


def same_html(a: str, b: str) -> bool:
    """The same tree once html5lib has parsed both (mf2py re-serialises e-* HTML)."""

    def tree(html: str) -> str:
        body = BeautifulSoup(html, "html5lib").body
        assert body is not None
        return body.decode_contents().strip()

    return tree(a) == tree(b)


def matches(sent: Any, got: Any, prop: str, base: str) -> bool:
    """Whether mf2py's value `got` is the value `sent`, up to the documented differences."""
    if isinstance(sent, bool):
        return False
    if isinstance(sent, int | float):
        return got == str(sent)  # HTML has no numbers
    if isinstance(sent, str):
        if prop in DATETIME_PROPERTIES:
            return got == mf2py_datetime(sent)
        if isinstance(got, dict) and "html" in got:  # plain text as e-content
            return bool(got["value"] == sent)
        if isinstance(got, dict) and "type" in got:  # a person tag URL, shown as an h-card
            return bool(got.get("value") == sent and sent in got["properties"].get("url", []))
        if isinstance(got, dict) and got.get("alt") == "":  # a nested card's avatar
            return bool(got["value"] == sent)
        return bool(got == sent)
    if isinstance(sent, dict) and "html" in sent:
        expected = sanitize_html(sent["html"], base)
        return isinstance(got, dict) and same_html(str(expected), got["html"])
    if isinstance(sent, dict) and "type" in sent:
        if not isinstance(got, dict) or got.get("type") != sent["type"]:
            return False
        # Nested objects: everything sent comes back; mf2py may imply a name.
        return all(
            values_match(values, got["properties"].get(name, []), name, base)
            for name, values in sent.get("properties", {}).items()
        )
    if isinstance(sent, dict) and "value" in sent:
        if "alt" in sent:
            return bool(got == {"value": sent["value"], "alt": sent["alt"]})
        return bool(got == sent["value"])  # a video's poster is not parsed back
    return False


def values_match(sent: list[Any], got: list[Any], prop: str, base: str) -> bool:
    return len(sent) == len(got) and all(
        matches(s, g, prop, base) for s, g in zip(sent, got, strict=True)
    )


def assert_gives_back(sent: dict[str, list[Any]], item: dict[str, Any], base: str) -> None:
    got = item["properties"]
    for name, values in sent.items():
        assert name in got, f"{name} was sent but not rendered"
        assert values_match(values, got[name], name, base), (name, values, got[name])
    assert set(got) - set(sent) <= SERVER_PROPERTIES


# --- Tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_permalink_gives_back_what_was_sent(client: httpx.AsyncClient, case: Case) -> None:
    """mf2py on the permalink returns the sent properties, and discovery the same type.

    The page is valid HTML5, and its parse is exactly the recorded one where there is one.
    """
    post = await publish(case)
    response = await client.get("/" + post.path)
    assert 200 == response.status_code
    html5lib.HTMLParser(strict=True).parse(response.text)
    item = the_item(parse_page(response))
    assert_gives_back(post.properties, item, str(response.url))
    assert post_type_of(case) == post.post_type
    h_type = item["type"][0].removeprefix("h-")
    assert post.h_type == h_type
    assert post.post_type == post_types.discover(h_type, item["properties"])
    if case.name in GOLDEN:
        assert json.loads((DATA / f"{case.name}.mf2.json").read_text()) == item


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_feed_entry_is_the_permalink_entry(client: httpx.AsyncClient, case: Case) -> None:
    """The home page's h-feed shows the post with the same properties (one url fewer).

    The home and tag pages around it are valid HTML5 too.
    """
    post = await publish(case)
    permalink = the_item(parse_page(await client.get("/" + post.path)))
    home = await client.get("/")
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(home.text)
    parser.parse((await client.get("/tag/indieweb")).text)
    feed = [i for i in parse_page(home)["items"] if "h-feed" in i["type"]]
    children = feed[0]["children"]
    assert 1 == len(children)
    short = f"{client.base_url}s/{post.short_code}"
    expected = dict(permalink["properties"])
    expected["url"] = [u for u in expected["url"] if u != short]
    assert permalink["type"] == children[0]["type"]
    assert expected == children[0]["properties"]


def test_every_post_type_has_a_golden_file() -> None:
    """Each post type has at least one recorded parse, and each recording has its input."""
    assert GOLDEN <= set(IDS)
    covered = {post_type_of(case) for case in CASES if case.name in GOLDEN}
    assert set(post_types.SHORT_LETTERS) == covered
