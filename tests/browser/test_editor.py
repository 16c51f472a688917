"""The editor in Debian's Chromium against a real `hearth serve`: the owner signs in, writes a
note and a photo post with two photos described and reordered, and the public pages show them.

Everything is done as a person does it, through labels and buttons, with the keyboard for
the note; the admin pages run no script at all (their CSP allows none), so this is the
editor without JavaScript, and the `Watch` sees no console error or CSP violation.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.axe import axe_source, violations
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, Watch
from tests.serving import Served, hearth_serve

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(name="site")
def site_fixture(tmp_path: Path, owner_sqlite: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    with hearth_serve(data_dir, env={"HEARTH_TIMEZONE": "Europe/Paris"}) as served:
        yield served


def png(name: str, color: str) -> FilePayload:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def sign_in_and_open_the_editor(page: Page, site: Served) -> None:
    page.goto(site.base + "admin/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Posts", level=1)).to_be_visible()
    page.get_by_role("link", name="New post").first.click()
    expect(page.get_by_role("heading", name="New post", level=1)).to_be_visible()


def view_post(page: Page) -> None:
    expect(page.get_by_role("status")).to_contain_text("Published.")
    page.get_by_role("link", name="View post").click()


def test_write_a_note_and_a_photo_post(page: Page, site: Served, watch: Watch) -> None:
    sign_in_and_open_the_editor(page, site)
    expect(page.get_by_text("Europe/Paris")).to_be_visible()

    # A note, typed and published with the keyboard alone.
    page.get_by_label("Content").focus()
    page.keyboard.type("Hello from *the browser*")
    page.get_by_role("button", name="Publish").focus()
    page.keyboard.press("Enter")
    view_post(page)
    expect(page.locator(".h-entry .e-content em")).to_have_text("the browser")

    # Two photos: chosen, uploaded, described, reordered, published.
    page.goto(site.base + "admin/posts/new")
    page.get_by_label("Content").fill("Red and blue")
    page.get_by_label("Photos").set_input_files([png("red.png", "red"), png("blue.png", "blue")])
    page.get_by_role("button", name="Upload photos").click()
    page.get_by_label("Alt text for photo 1").fill("A red square")
    page.get_by_label("Alt text for photo 2").fill("A blue square")
    page.get_by_role("button", name="Move photo 2 up").click()
    expect(page.get_by_label("Alt text for photo 1")).to_have_value("A blue square")
    expect(page.get_by_label("Alt text for photo 2")).to_have_value("A red square")
    expect(page.get_by_label("Content")).to_have_value("Red and blue")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".editor-preview .u-photo")).to_have_count(2)
    page.get_by_role("button", name="Publish").click()
    view_post(page)
    photos = page.locator(".h-entry img.u-photo")
    expect(photos).to_have_count(2)
    expect(photos.nth(0)).to_have_attribute("alt", "A blue square")
    expect(photos.nth(1)).to_have_attribute("alt", "A red square")
    for n in range(2):  # the files are served
        assert photos.nth(n).evaluate("img => img.naturalWidth") == 40

    # Both on the home page, the newest first.
    page.goto(site.base)
    entries = page.locator(".h-entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("Red and blue")
    expect(entries.nth(1)).to_contain_text("Hello from the browser")
    assert watch.problems() == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_editor_passes_axe(page: Page, site: Served, scheme: str) -> None:
    """axe-core finds no serious or critical problem in the editor's states, on a phone and
    on a desktop: empty, with photos and a preview, refused, and a deleted post's."""
    source = axe_source()
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    sign_in_and_open_the_editor(page, site)
    found: dict[str, list[str]] = {}

    def check(state: str) -> None:
        for width, height in ((375, 740), (1280, 900)):
            page.set_viewport_size({"width": width, "height": height})
            found[f"{state} at {width}"] = violations(page, source)

    check("new")
    page.get_by_label("Title").fill("A title")
    page.get_by_label("Content").fill("Some *text*")
    page.get_by_label("Photos").set_input_files([png("red.png", "red"), png("blue.png", "blue")])
    page.get_by_role("button", name="Upload photos").click()
    check("uploaded")  # no alt text yet: each field says so
    page.get_by_label("Alt text for photo 1").fill("Red")
    page.get_by_label("Alt text for photo 2").fill("Blue")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    check("preview")
    page.get_by_label("Like of").fill("not a url")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("alert")).to_contain_text("Like of must be")
    check("refused")
    page.get_by_label("Like of").fill("")
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("button", name="Undelete")).to_be_visible()
    check("deleted")
    assert {state: lines for state, lines in found.items() if lines} == {}


def test_the_main_button_says_schedule_for_a_time_to_come(
    page: Page, site: Served, watch: Watch
) -> None:
    """Typing a Published time still to come relabels Publish as Schedule at once (the
    site's own editor.js, allowed by the editor's policy); clearing it brings Publish back."""
    sign_in_and_open_the_editor(page, site)
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_visible()
    page.get_by_label("Published").fill("2099-01-01T09:00")
    expect(page.get_by_role("button", name="Schedule", exact=True)).to_be_visible()
    page.get_by_label("Published").fill("2001-01-01T09:00")
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_visible()
    page.get_by_label("Content").fill("For later")
    page.get_by_label("Published").fill("2099-01-01T09:00")
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_role("button", name="Schedule", exact=True)).to_be_visible()
    assert watch.problems() == []
