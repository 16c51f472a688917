"""Every public and admin page passes axe-core with no serious or critical violation, at
phone and desktop widths, in light and dark colour schemes.

The pages come from a real `hearth serve` with the demo posts, a reply, a tag, a private
post and the owner signed in for the admin; each page is checked in each viewport.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import axe_source, violations
from tests.browser.conftest import PASSWORD, TIMEOUT_MS
from tests.serving import Served, hearth_cli, hearth_serve

expect.set_options(timeout=TIMEOUT_MS)

VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 900)}
PUBLIC = ["", "signin", "tag/demo", "no-such-page", "admin/login"]
ADMIN = ["admin/", "admin/posts", "admin/responses", "admin/jobs", "admin/apps",
         "admin/profile", "admin/silos"]  # fmt: skip


@pytest.fixture(scope="module", name="site")
def site_fixture(tmp_path_factory: pytest.TempPathFactory, owner_sqlite: Path) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("a11y") / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    with hearth_serve(data_dir) as served:
        hearth_cli(served.env, "demo")
        yield served


def _permalink(site: Served) -> str:
    """The path of the newest entry on the home page."""
    home = httpx.get(site.base).text
    marker = 'class="u-url u-uid" href="'
    start = home.index(marker) + len(marker)
    return home[start : home.index('"', start)].removeprefix(site.base)


def _sign_in(page: Page, site: Served) -> None:
    page.goto(site.base + "admin/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Posts", level=1)).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_pages_have_no_serious_accessibility_violations(
    browser: Browser, site: Served, viewport: str, scheme: str
) -> None:
    source = axe_source()
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    found: dict[str, list[str]] = {}
    try:
        for path in [*PUBLIC, _permalink(site)]:
            page.goto(site.base + path)
            found[path or "/"] = violations(page, source)
        _sign_in(page, site)
        for path in ADMIN:
            page.goto(site.base + path)
            found[path] = violations(page, source)
    finally:
        context.close()
    problems = {path: lines for path, lines in found.items() if lines}
    assert problems == {}
