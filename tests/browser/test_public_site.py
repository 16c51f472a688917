"""The public site in Chromium, against a real `hearth serve`: phone and desktop widths in
light and dark schemes without horizontal scrolling, a reply showing its context fetched by
the served worker from another site, and a webmention sent through a permalink's form.

The other site (the reply's target) is a small page at http://localhost:PORT/ that Hearth
may reach (HEARTH_ALLOW_PRIVATE_NETWORKS). Screenshots of each page, width and scheme are
written to the test's temporary directory, for a person to look at.
"""

from __future__ import annotations

import ipaddress
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser.conftest import TIMEOUT_MS, Watch, serve_on
from tests.serving import Served, hearth_cli, hearth_serve

expect.set_options(timeout=TIMEOUT_MS)

WIDTHS = {"phone": 390, "desktop": 1280}
# The page background of each scheme (hearth.css: --bg).
BACKGROUNDS = {"light": "rgb(253, 252, 250)", "dark": "rgb(22, 20, 18)"}
TARGET_PAGE = """<!doctype html><html lang="en"><title>Bob's garden</title>
<article class="h-entry"><h1 class="p-name">On gardens</h1>
<p class="p-author h-card"><a class="u-url p-name" href="/">Bob Smith</a></p>
<div class="e-content"><p>Tomatoes <b>love</b> sun, and a very long word:
Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherungsanstalt.</p></div>
</article></html>"""
LONG_NOTE = (
    "A note with a long link https://example.org/a/very/long/path/that/never/breaks/"
    + "x" * 120
    + " and a long word "
    + "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz" * 2
)


@dataclass
class PublicSite:
    served: Served
    target: str
    reply: str
    note: str


def _target_app(base: str) -> Any:
    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(TARGET_PAGE)

    return Starlette(routes=[Route("/post", page)])


def _wait_for(url: str, text: str) -> None:
    """Until the served worker has fetched and stored the context."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if text in httpx.get(url).text:
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared on {url}")


@pytest.fixture(scope="module", name="public_site")
def public_site_fixture(
    tmp_path_factory: pytest.TempPathFactory, owner_sqlite: Path
) -> Iterator[PublicSite]:
    """Demo posts, a long note and a reply to the other site, with its context fetched."""
    data_dir = tmp_path_factory.mktemp("public") / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    with serve_on("localhost", _target_app) as (other, addresses):
        networks = ",".join(str(ipaddress.ip_network(a)) for a in addresses)
        with hearth_serve(data_dir, env={"HEARTH_ALLOW_PRIVATE_NETWORKS": networks}) as served:
            hearth_cli(served.env, "demo")
            token = hearth_cli(served.env, "token", "create", "--scope", "create").split()[-1]
            auth = {"Authorization": f"Bearer {token}"}
            made = []
            for form in (
                {"h": "entry", "content": LONG_NOTE, "category[]": ["a-rather-long-tag-name"]},
                {"h": "entry", "in-reply-to": other + "post", "content": "Mine grow too!"},
            ):
                answer = httpx.post(served.base + "micropub", data=form, headers=auth)
                assert 201 == answer.status_code, answer.text
                made.append(answer.headers["location"])
            note, reply = made
            _wait_for(reply, "u-in-reply-to h-cite")
            yield PublicSite(served, other + "post", reply, note)


def _no_horizontal_overflow(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
    )
    assert widths[0] <= widths[1] and widths[2] <= widths[1], widths


@pytest.mark.parametrize("scheme", list(BACKGROUNDS))
@pytest.mark.parametrize("width", list(WIDTHS))
def test_pages_fit_the_screen_in_both_schemes(
    browser: Browser, public_site: PublicSite, width: str, scheme: str, tmp_path: Path
) -> None:
    """Home, the long note and the reply: no horizontal scroll, the scheme's colours, the
    reply's context (name, author, snippet) visible; a screenshot of each."""
    context = browser.new_context(
        viewport={"width": WIDTHS[width], "height": 900},
        color_scheme="dark" if scheme == "dark" else "light",
    )
    context.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    site = public_site.served.base
    for name, url in (
        ("home", site),
        ("note", public_site.note),
        ("reply", public_site.reply),
    ):
        page.goto(url)
        _no_horizontal_overflow(page)
        background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert BACKGROUNDS[scheme] == background, (name, background)
        page.screenshot(path=tmp_path / f"{name}-{width}-{scheme}.png", full_page=True)
    cite = page.locator(".u-in-reply-to.h-cite")
    expect(cite.get_by_role("link", name="On gardens")).to_be_visible()
    expect(cite.get_by_role("link", name="Bob Smith")).to_be_visible()
    expect(cite).to_contain_text("Tomatoes love sun")
    expect(
        page.get_by_role("navigation", name="Site").get_by_role("link", name="Tags")
    ).to_be_visible()
    assert [] == errors
    context.close()


def test_a_reader_sends_a_webmention_through_the_form(
    page: Page, watch: Watch, public_site: PublicSite
) -> None:
    """With the keyboard: the labelled field, the button, a page that says what happened
    and leads back to the post."""
    page.goto(public_site.reply)
    field = page.get_by_label("Your post's URL")
    field.fill(public_site.target)
    field.press("Tab")
    expect(page.get_by_role("button", name="Send webmention")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you: webmention received")).to_be_visible()
    page.get_by_role("link", name="Follow its verification").click()
    expect(page.get_by_role("heading", name="Webmention status", exact=False)).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Back to the post").click()
    assert public_site.reply == page.url
    assert [] == watch.problems()
