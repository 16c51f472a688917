"""The owner's everyday tools in Debian's Chromium, against one real `hearth serve` (with its
in-process worker) holding 1,000 posts: sign in, write a note and edit, delete and undelete
it; a photo post with two described photos; a reply whose context shows in the editor's
preview and, once the worker has fetched it, on the post; a scheduled post that appears on
the home page at its time; page through every post and find one by a word; approve and hide
a received response; a reader sends a webmention through a permalink's form.

Everything is done as a person does it, by labels and button names (the keyboard where it
is natural). Another site, at http://localhost:PORT/ (a small Starlette app whose pages each
test sets), is the reply's target and the source of the responses; Hearth may reach it
(HEARTH_ALLOW_PRIVATE_NETWORKS). Every page visited passes axe-core at phone and desktop
widths with no serious or critical violation, and the `Watch` sees no console error,
page error or CSP violation.

The 1,000 posts are stored before the site starts, through the real `create_post` in a
subprocess (about a second), published over the month before; the tests' own posts are
newer, so they top the home page.
"""

from __future__ import annotations

import io
import ipaddress
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.axe import axe_source, violations
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, Watch, serve_on
from tests.serving import ROOT, Served, hearth_cli, hearth_serve

expect.set_options(timeout=TIMEOUT_MS)

ZONE = "Europe/Paris"
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
SEEDED = 1000
# The one seeded post with this word in it, for the search box.
RARE_WORD, RARE_NUMBER = "zeppelin", 417
PAGE_SIZE = 50  # the Posts page's
# How long the worker may take for a fetch or a verification (it polls every second).
WORKER_SECONDS = 30
SEED = f"""
import asyncio, os
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from hearth import wiring
from hearth.server.core import db
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings


async def main() -> None:
    features = wiring.features()
    wiring.install(features)
    settings = Settings.from_env(os.environ, sections=wiring.settings_sections(features))
    start = datetime.now(UTC) - timedelta(days=30)
    async with db.connect(settings), in_transaction():
        for n in range({SEEDED}):
            text = f"Seeded note number {{n}}"
            if n == {RARE_NUMBER}:
                text += " about a {RARE_WORD}"
            await create_post({{"content": [text]}}, published=start + timedelta(minutes=n))


asyncio.run(main())
"""
READ_PAGE = """<!doctype html><html lang="en"><title>Notes on bread</title>
<article class="h-entry"><h1 class="p-name">Notes on bread</h1>
<p class="p-author h-card"><a class="u-url p-name" href="/">Dana Baker</a></p>
<div class="e-content"><p>Sourdough needs <b>patience</b> and a warm kitchen.</p></div>
</article></html>"""


def response_page(author: str, target: str, text: str) -> str:
    """A reply on the other site to `target`, by `author`."""
    return f"""<!doctype html><html lang="en"><title>{author}'s reply</title>
<article class="h-entry">
<p class="p-author h-card"><a class="u-url p-name" href="/">{author}</a></p>
<p>In reply to <a class="u-in-reply-to" href="{target}">this post</a>.</p>
<div class="e-content p-name">{text}</div>
</article></html>"""


@dataclass
class OtherSite:
    """Another site: the pages the tests put at their paths, 404 elsewhere."""

    base: str = ""
    pages: dict[str, str] = field(default_factory=dict)

    def app(self, base: str) -> Any:
        self.base = base

        async def page(request: Request) -> Response:
            html = self.pages.get(request.path_params["path"])
            if html is None:
                return HTMLResponse("<!doctype html><title>Not found</title>", status_code=404)
            return HTMLResponse(html)

        async def no_icon(request: Request) -> Response:
            return Response(status_code=204)

        return Starlette(routes=[Route("/favicon.ico", no_icon), Route("/{path:path}", page)])

    def put(self, path: str, html: str) -> str:
        """Serve `html` at `path`; its URL."""
        self.pages[path] = html
        return self.base + path


@dataclass
class OwnerSite:
    served: Served
    other: OtherSite

    @property
    def base(self) -> str:
        return self.served.base

    def micropub_post(self, content: str) -> str:
        """A note made by a Micropub client (not what the test is about); its URL."""
        token = hearth_cli(self.served.env, "token", "create", "--scope", "create")
        auth = {"Authorization": f"Bearer {token.split()[-1]}"}
        made = httpx.post(self.base + "micropub", data={"h": "entry", "content": content},
                          headers=auth)  # fmt: skip
        assert made.status_code == 201, made.text
        return made.headers["location"]


def _seed(data_dir: Path) -> None:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", SEED], env=env, cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module", name="site")
def site_fixture(
    tmp_path_factory: pytest.TempPathFactory, owner_sqlite: Path
) -> Iterator[OwnerSite]:
    data_dir = tmp_path_factory.mktemp("owner-tools") / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    _seed(data_dir)
    other = OtherSite()
    with serve_on("localhost", other.app) as (_base, addresses):
        env = {
            "HEARTH_ALLOW_PRIVATE_NETWORKS": ",".join(
                str(ipaddress.ip_network(a)) for a in addresses
            ),
            "HEARTH_TIMEZONE": ZONE,
            "HEARTH_MODERATION": "manual",  # every response waits for the owner
            "HEARTH_JOB_BACKOFF_SECONDS": "1",
        }
        with hearth_serve(data_dir, env=env) as served:
            yield OwnerSite(served, other)


class Axe:
    """axe-core on each page the test shows it, at phone and desktop widths."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.source = axe_source()
        self.found: dict[str, list[str]] = {}
        page.set_viewport_size({"width": 1280, "height": 900})

    def check(self, name: str) -> None:
        for label, (width, height) in VIEWPORTS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.found[f"{name} at {label} width"] = violations(self.page, self.source)
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def problems(self) -> dict[str, list[str]]:
        return {name: lines for name, lines in self.found.items() if lines}


@pytest.fixture(name="axe")
def axe_fixture(page: Page) -> Axe:
    return Axe(page)


def sign_in(page: Page, site: OwnerSite, axe: Axe) -> None:
    """The admin sends a signed-out visitor to sign in; the password, then Enter."""
    page.goto(site.base + "admin/")
    expect(page).to_have_url(site.base + "admin/login")
    axe.check("sign-in page")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Posts", level=1)).to_be_visible()


def open_new_post(page: Page) -> None:
    page.get_by_role("link", name="New post").first.click()
    expect(page.get_by_role("heading", name="New post", level=1)).to_be_visible()


def view_post(page: Page, notice: str = "Published.") -> str:
    """From the editor, after saving: the post's page; its URL."""
    expect(page.get_by_role("status")).to_contain_text(notice)
    page.get_by_role("link", name="View post").click()
    expect(page.locator(".h-entry").first).to_be_visible()
    return page.url


def reload_until(page: Page, done: Callable[[], bool], what: str, seconds: float) -> None:
    """Reload the page until `done()`, for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(500)
        page.reload()


def png(name: str, color: str) -> FilePayload:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def test_the_owner_writes_edits_deletes_and_undeletes_a_note(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    sign_in(page, site, axe)
    open_new_post(page)
    expect(page.get_by_text(ZONE)).to_be_visible()
    axe.check("editor, new post")

    # Written and published with the keyboard alone.
    page.get_by_label("Content").focus()
    page.keyboard.type("Bread day: *sourdough* again")
    page.get_by_role("button", name="Publish").focus()
    page.keyboard.press("Enter")
    permalink = view_post(page)
    expect(page.locator(".h-entry .e-content em")).to_have_text("sourdough")
    axe.check("permalink of the note")

    # The owner's Edit link on the post's page; the change shows on the page.
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit post", level=1)).to_be_visible()
    expect(page.get_by_label("Content")).to_have_value("Bread day: *sourdough* again")
    editor = page.url
    axe.check("editor, editing the note")
    page.get_by_label("Content").fill("Bread day: *rye* this time")
    page.get_by_role("button", name="Update").click()
    view_post(page, "Updated.")
    expect(page.locator(".h-entry .e-content em")).to_have_text("rye")

    # Deleted: the page answers 410 Gone; undeleted: 200 again, as edited.
    page.goto(editor)
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted.")
    expect(page.get_by_role("button", name="Undelete")).to_be_visible()
    axe.check("editor, deleted post")
    gone = page.goto(permalink)
    assert gone is not None and gone.status == 410
    axe.check("permalink of a deleted post")
    page.goto(editor)
    page.get_by_role("button", name="Undelete").click()
    expect(page.get_by_role("status")).to_contain_text("Undeleted")
    back = page.goto(permalink)
    assert back is not None and back.status == 200
    expect(page.locator(".h-entry .e-content em")).to_have_text("rye")

    assert axe.problems() == {}
    assert watch.problems() == []


def test_a_photo_post_with_two_described_photos(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    sign_in(page, site, axe)
    open_new_post(page)
    page.get_by_label("Content").fill("Two squares of colour")
    page.get_by_label("Photos").set_input_files([png("red.png", "red"), png("blue.png", "blue")])
    page.get_by_role("button", name="Upload photos").click()
    expect(page.get_by_label("Alt text for photo 2")).to_be_visible()
    axe.check("editor with photos uploaded")
    page.get_by_label("Alt text for photo 1").fill("A red square")
    page.get_by_label("Alt text for photo 2").fill("A blue square")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.locator(".editor-preview .u-photo")).to_have_count(2)
    axe.check("editor, preview of the photo post")
    page.get_by_role("button", name="Publish").click()
    view_post(page)

    photos = page.locator(".h-entry img.u-photo")
    expect(photos).to_have_count(2)
    expect(photos.nth(0)).to_have_attribute("alt", "A red square")
    expect(photos.nth(1)).to_have_attribute("alt", "A blue square")
    for n in range(2):  # the files are served
        assert photos.nth(n).evaluate("img => img.naturalWidth") == 40
    axe.check("permalink of the photo post")

    page.goto(site.base)
    expect(page.locator(".h-entry").first).to_contain_text("Two squares of colour")
    expect(page.locator(".h-entry").first.get_by_alt_text("A blue square")).to_be_visible()
    axe.check("home page")
    assert axe.problems() == {}
    assert watch.problems() == []


def test_a_reply_shows_its_context_in_the_preview_and_on_the_post(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    target = site.other.put("bread", READ_PAGE)
    sign_in(page, site, axe)
    open_new_post(page)
    page.get_by_label("Reply to").fill(target)
    page.get_by_label("Content").fill("Mine rose too, after a night by the stove.")
    page.get_by_role("button", name="Preview").click()

    # Read from the other site as the editor renders: name, author and text.
    context = page.get_by_role("complementary", name="Reply to: Notes on bread")
    expect(context.get_by_role("link", name="Notes on bread")).to_have_attribute("href", target)
    expect(context.get_by_role("link", name="Dana Baker")).to_be_visible()
    expect(context).to_contain_text("Sourdough needs patience")
    expect(page.locator(".editor-preview .e-content")).to_contain_text("Mine rose too")
    axe.check("editor, preview of a reply")
    page.get_by_role("button", name="Publish").click()
    view_post(page)

    # The worker fetches and stores the context; then the post's page shows it.
    cite = page.locator(".u-in-reply-to.h-cite")
    reload_until(page, lambda: cite.count() > 0, "the reply's context", WORKER_SECONDS)
    expect(cite.get_by_role("link", name="Notes on bread")).to_be_visible()
    expect(cite.get_by_role("link", name="Dana Baker")).to_be_visible()
    expect(cite).to_contain_text("Sourdough needs patience")
    axe.check("permalink of a reply")
    assert axe.problems() == {}
    assert watch.problems() == []


def _a_minute_to_come(margin: timedelta) -> datetime:
    """The first whole minute in the site's zone at least `margin` from now (the
    datetime-local field takes minutes; seconds would fail its step)."""
    soon = datetime.now(ZoneInfo(ZONE)) + margin
    return soon.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_a_scheduled_post_appears_on_the_home_page_at_its_time(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    text = "Supper club tonight, scheduled ahead"
    sign_in(page, site, axe)
    open_new_post(page)
    page.get_by_label("Content").fill(text)
    when = _a_minute_to_come(timedelta(seconds=10))
    page.get_by_label("Published").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Preview").click()
    # A time to come: the main button says what it will do.
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Scheduled")

    # Not on the home page before its time; there once the time has come.
    page.goto(site.base)
    entry = page.locator(".h-entry", has_text=text)
    seen_early = []

    def out_yet() -> bool:
        now = datetime.now(ZoneInfo(ZONE))
        shown = entry.count() > 0
        if now < when and shown:
            seen_early.append(now)
        return shown and now >= when

    assert datetime.now(ZoneInfo(ZONE)) < when, "the test was too slow to see it hidden"
    assert entry.count() == 0
    wait = (when - datetime.now(ZoneInfo(ZONE))).total_seconds()
    reload_until(page, out_yet, "the scheduled post", wait + WORKER_SECONDS)
    assert seen_early == []
    expect(page.locator(".h-entry").first).to_contain_text(text)
    axe.check("home page with the scheduled post out")
    assert axe.problems() == {}
    assert watch.problems() == []


def _rows(page: Page) -> list[tuple[str, str]]:
    """(edit link, title) of each row on the Posts page shown."""
    links = page.locator("table.posts tbody tr td:first-child a")
    edits = page.locator("table.posts tbody tr a[href$='/edit']")
    titles = links.all_inner_texts()
    hrefs = [edits.nth(n).get_attribute("href") or "" for n in range(edits.count())]
    assert len(titles) == len(hrefs)
    return list(zip(hrefs, titles, strict=True))


def test_paging_through_a_thousand_posts_and_finding_one_by_a_word(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    sign_in(page, site, axe)  # lands on the Posts page
    axe.check("Posts page")
    counts = page.get_by_text(re.compile(r"^\d+ posts?, \d+ deleted\.$"))
    live, deleted = map(int, re.findall(r"\d+", counts.inner_text()))
    total = live + deleted
    assert total >= SEEDED

    # Every post once, 50 a page, newest first, by the "Older posts" (rel=next) links.
    seen: list[tuple[str, str]] = []
    pages = 0
    while True:
        pages += 1
        rows = _rows(page)
        assert len(rows) == (PAGE_SIZE if len(seen) + PAGE_SIZE <= total else total - len(seen))
        seen += rows
        older = page.get_by_role("navigation", name="Pages of posts").get_by_role(
            "link", name="Older posts"
        )
        if older.count() == 0:
            break
        assert older.get_attribute("rel") == "next"
        older.click()
        expect(page.get_by_role("link", name="Newer posts")).to_be_visible()
    assert pages == math.ceil(total / PAGE_SIZE)
    assert len({href for href, _ in seen}) == len(seen) == total
    seeded = [title for _, title in seen if title.startswith("Seeded note number")]
    numbers = [int(title.split()[3]) for title in seeded]
    assert numbers == list(range(SEEDED - 1, -1, -1))  # all of them, newest first
    axe.check("Posts page, the last page")

    # One post by a word in it, with the search box and Enter.
    search = page.get_by_role("searchbox", name="Search posts")
    search.fill(RARE_WORD)
    search.press("Enter")
    expect(page.get_by_role("status")).to_have_text("1 post matches.")
    rows = _rows(page)
    assert [title for _, title in rows] == [f"Seeded note number {RARE_NUMBER} about a {RARE_WORD}"]
    expect(page.get_by_role("navigation", name="Pages of posts")).to_have_count(0)
    axe.check("Posts page with a search")
    page.get_by_role("link", name=rows[0][1], exact=True).click()
    expect(page.locator(".h-entry .e-content")).to_contain_text(RARE_WORD)
    axe.check("permalink of the post found")
    assert axe.problems() == {}
    assert watch.problems() == []


def test_the_owner_approves_then_hides_a_response(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    post = site.micropub_post("A loaf worth talking about")
    said = "What a lovely loaf, Carol here."
    source = site.other.put("carol", response_page("Carol Reader", post, said))
    # The other site's own webmention, to the endpoint the post advertises.
    endpoint = httpx.get(post).links["webmention"]["url"]
    sent = httpx.post(endpoint, data={"source": source, "target": post})
    assert sent.status_code in (201, 202), sent.text

    sign_in(page, site, axe)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Responses").click()
    expect(page.get_by_role("heading", name="Responses", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Carol Reader")
    # Verified by the worker, then waiting (HEARTH_MODERATION=manual).
    reload_until(
        page, lambda: "waiting for approval" in (row.first.inner_text() if row.count() else ""),
        "the response to be verified", WORKER_SECONDS,
    )  # fmt: skip
    axe.check("Responses page")
    comments = page.context.new_page()  # the public post, as a visitor sees it
    comments.goto(post)
    expect(comments.locator(".h-entry")).not_to_contain_text(said)

    row.get_by_role("button", name="Approve").click()
    expect(row).to_contain_text("shown")
    axe.check("Responses page after approving")
    comments.reload()
    comment = comments.locator(".p-comment.h-cite")
    expect(comment).to_contain_text(said)
    expect(comment.get_by_role("link", name="Carol Reader")).to_be_visible()

    row.get_by_role("button", name="Hide").click()
    expect(row).to_contain_text("hidden")
    expect(row.get_by_role("button", name="Approve")).to_be_visible()
    comments.reload()
    expect(comments.locator(".h-entry")).not_to_contain_text(said)
    expect(comments.locator(".p-comment")).to_have_count(0)
    page.goto(post)
    axe.check("permalink with a hidden response, signed in")
    comments.close()
    assert axe.problems() == {}
    assert watch.problems() == []


def test_a_reader_sends_a_webmention_through_the_form(
    page: Page, site: OwnerSite, watch: Watch, axe: Axe
) -> None:
    post = site.micropub_post("Anyone else baking this weekend?")
    source = site.other.put("erin", response_page("Erin Oven", post, "Me, a rye loaf."))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(post)
    axe.check("permalink, signed out")

    field = page.get_by_label("Your post's URL")
    field.fill(source)
    field.press("Tab")
    expect(page.get_by_role("button", name="Send webmention")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you: webmention received")).to_be_visible()
    axe.check("webmention received page")
    page.get_by_role("link", name="Follow its verification").click()
    message = page.locator(".status-message")
    reload_until(
        page, lambda: "Verified" in message.inner_text(), "the verification", WORKER_SECONDS
    )
    expect(message).to_contain_text("once the site's owner approves it")
    axe.check("webmention status page")
    assert axe.problems() == {}
    assert watch.problems() == []
