"""A visitor signs in with their own site, in Debian's Chromium, and signs out again.

Hearth is a real `hearth serve` at http://127.0.0.1:PORT/; the visitor's site and its
IndieAuth server are the fake of tests/server/indieauth/fake_indieauth.py at
http://localhost:PORT/, another site to the browser. What only a browser shows: the sign-in
cookie (SameSite=Lax, path /signin) comes back on the cross-site redirect to the callback,
the visitor's cookie then works on every page, and the footer's forms work under the
public pages' policy.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import TIMEOUT_MS, Watch, serve_on
from tests.server.indieauth.fake_indieauth import FakeIndieAuth
from tests.serving import Served, hearth_serve

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(name="visitor_site")
def visitor_site_fixture() -> Iterator[tuple[FakeIndieAuth, list[str]]]:
    fakes: list[FakeIndieAuth] = []

    def make_app(base: str) -> Any:
        fakes.append(FakeIndieAuth(base=base))
        return fakes[0].app()

    with serve_on("localhost", make_app) as (_base, addresses):
        yield fakes[0], addresses


@pytest.fixture(name="site")
def site_fixture(
    tmp_path: Path, owner_sqlite: Path, visitor_site: tuple[FakeIndieAuth, list[str]]
) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    networks = ",".join(str(ipaddress.ip_network(a)) for a in visitor_site[1])
    with hearth_serve(data_dir, env={"HEARTH_ALLOW_PRIVATE_NETWORKS": networks}) as served:
        yield served


def test_a_visitor_signs_in_with_their_site_and_out_again(
    page: Page, watch: Watch, site: Served, visitor_site: tuple[FakeIndieAuth, list[str]]
) -> None:
    fake = visitor_site[0]
    page.goto(site.base)
    page.get_by_role("link", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in with your own site")).to_be_visible()
    page.get_by_label("Your website").fill(fake.base + "alice/")
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(site.base)
    footer = page.locator("footer")
    expect(footer).to_contain_text("Signed in as")
    expect(footer.get_by_role("link", name="Alice Visitor")).to_be_visible()
    assert fake.redemptions[-1]["client_id"] == site.base + "indieauth/client"
    cookie = next(c for c in page.context.cookies() if c["name"] == "hearth_visitor")
    assert (True, "Lax", "/") == (cookie["httpOnly"], cookie["sameSite"], cookie["path"])

    footer.get_by_role("button", name="Sign out").click()
    expect(page.locator("footer").get_by_role("link", name="Sign in")).to_be_visible()
    # The fake's profile photo is on a made-up host: the only thing allowed to fail.
    problems = [p for p in watch.problems() if "alice.example" not in p]
    assert problems == []
