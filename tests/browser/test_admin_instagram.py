"""The admin's "Connect Instagram" and "Poll now", driven in Debian's Chromium.

Hearth is served at http://127.0.0.1:PORT/ and the fake Instagram at http://localhost:PORT/,
another site to the browser: Instagram's redirect back to the callback is a cross-site
top-level navigation, which carries the admin's SameSite=Lax session cookie only because it
is a GET. The httpx tests (tests/syndication/instagram/test_connect.py) cover every branch;
these show what only a browser shows: the cookie coming along, the state bound to the
browser's own session, the forms working, and nothing blocked by the admin's CSP.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Page, Request, Response, expect

from tests.browser.conftest import PASSWORD, TIMEOUT_MS, Site, Watch
from tests.serving import hearth_cli
from tests.syndication.instagram.served_instagram import requests_to, wait_for

CONNECTED = re.compile(r"/admin/silos\?done=instagram#instagram$")
POLL_QUEUED = re.compile(r"/admin/silos\?done=instagram_poll#instagram$")
expect.set_options(timeout=TIMEOUT_MS)


def sign_in(page: Page, site: Site) -> None:
    """Open the admin, get sent to the sign-in form, type the password and submit it; then
    go to the Silos page by the admin's navigation."""
    page.goto(site.base + "admin/")
    expect(page).to_have_url(site.base + "admin/login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Posts", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Silos").click()
    expect(page.get_by_role("heading", name="Silos", level=1)).to_be_visible()


def until(page: Page, check: Callable[[], object], what: str) -> None:
    """Wait for `check()`, letting Playwright deliver events meanwhile (a plain sleep
    would not: the sync API dispatches them only inside its own calls)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def instagram_section(page: Page) -> str:
    return " ".join(page.locator("section#instagram").inner_text().split())


def redirect_chain(request: Request) -> list[Request]:
    """The requests of one navigation, first to last, across every redirect."""
    chain = [request]
    while (previous := chain[0].redirected_from) is not None:
        chain.insert(0, previous)
    return chain


def landed(response: Response) -> bool:
    """Whether `response` is the page a navigation ends on (not a redirect on the way)."""
    return response.request.is_navigation_request() and not 300 <= response.status < 400


def connect_instagram(page: Page, done: re.Pattern[str]) -> list[Request]:
    """Click "Connect Instagram", follow the browser to the page matching `done`, and return
    the requests it made on the way there."""
    with page.expect_response(landed) as navigation:
        page.get_by_role("link", name="Connect Instagram").first.click()
    expect(page).to_have_url(done)
    return redirect_chain(navigation.value.request)


def test_sign_in_form_gives_an_http_only_lax_session(page: Page, site: Site) -> None:
    """The sign-in form signs in; the session cookie is HttpOnly, SameSite=Lax, site-wide
    (the owner sees private posts on public pages)."""
    sign_in(page, site)
    expect(page).to_have_url(site.base + "admin/silos")
    session = next(c for c in page.context.cookies() if c["name"] == "hearth_session")
    assert (True, "Lax", "/") == (session["httpOnly"], session["sameSite"], session["path"])


def test_connect_instagram_comes_back_connected(page: Page, site: Site) -> None:
    """Connect goes to Instagram (another site) and back; the callback carries the session
    cookie, and the dashboard shows the notice, the account and its token."""
    sign_in(page, site)
    chain = connect_instagram(page, CONNECTED)

    hosts = [(urlsplit(r.url).hostname, urlsplit(r.url).path) for r in chain]
    assert [
        ("127.0.0.1", "/admin/instagram/connect"),
        ("localhost", "/oauth/authorize"),
        ("127.0.0.1", "/admin/instagram/callback"),
        ("127.0.0.1", "/admin/silos"),
    ] == hosts
    assert "hearth_session=" in (chain[2].header_value("cookie") or "")
    assert "hearth_session=" not in (chain[1].header_value("cookie") or "")
    expect(page.get_by_role("status")).to_have_text(re.compile("^Instagram connected."))
    section = instagram_section(page)
    assert f"@{site.fake.username} (id {site.fake.user_id})" in section
    assert re.search(r"Token ok, expires \d{4}-\d{2}-\d{2}", section), section
    expect(page.get_by_role("button", name="Poll now")).to_be_visible()


def test_cancel_on_instagram_connects_nothing(page: Page, site: Site) -> None:
    """The owner cancels on Instagram: the cancel page, and still no account afterwards."""
    site.fake.deny_next_authorization = True
    sign_in(page, site)
    chain = connect_instagram(page, re.compile(r"/admin/instagram/callback\?error=access_denied"))

    response = chain[-1].response()
    assert response is not None and 200 == response.status
    expect(page.get_by_role("heading", name="Instagram not connected")).to_be_visible()
    expect(page.get_by_text("Nothing changed.", exact=False)).to_be_visible()
    page.get_by_role("link", name="Back to Instagram in the admin").click()
    expect(page.locator("section#instagram")).to_contain_text("No Instagram account is connected")
    assert 0 == requests_to(site.fake, "/oauth/access_token", "POST")


def test_callback_only_works_in_the_session_that_started_it(
    page: Page, site: Site, browser: Browser
) -> None:
    """Another browser signed in as the owner cannot finish a sign-in this one started;
    the one that started it still can."""
    sign_in(page, site)
    # Connect with this browser's cookies, but stop at Instagram's door and carry the way
    # back from there to another browser.
    start = page.request.get(site.base + "admin/instagram/connect", max_redirects=0)
    assert 303 == start.status
    callback = httpx.get(start.headers["location"]).headers["location"]

    other = browser.new_context()
    try:
        stranger = other.new_page()
        sign_in(stranger, site)
        stranger.goto(callback)
        expect(stranger.get_by_role("heading")).to_have_text(
            "This Instagram sign-in was not started here"
        )
    finally:
        other.close()
    assert 0 == requests_to(site.fake, "/oauth/access_token", "POST")

    page.goto(callback)
    expect(page).to_have_url(CONNECTED)
    expect(page.locator("section#instagram")).to_contain_text(f"@{site.fake.username}")


def test_poll_now_copies_new_media(page: Page, site: Site) -> None:
    """Media posted after the last poll: Poll now says it is queued, and the copy appears."""
    hearth_cli(site.served.env, "instagram", "connect", "--access-token", site.fake.token)
    wait_for(lambda: requests_to(site.fake, "/me/media"), "the poll that connecting queues")
    media_id = site.fake.add_media("IMAGE", caption="Posted after the last poll")
    sign_in(page, site)
    expect(page.locator(f"#instagram-{media_id}")).to_have_count(0)

    page.get_by_role("button", name="Poll now").click()
    expect(page).to_have_url(POLL_QUEUED)
    expect(page.get_by_role("status")).to_have_text(re.compile("^Poll queued"))

    def copied() -> bool:
        page.reload()
        return page.locator(f"#instagram-{media_id} td.copy-copied").count() == 1

    wait_for(copied, f"the copy of media {media_id} on the dashboard")
    copy = page.locator(f"#instagram-{media_id} a[href^='{site.base}']")
    copy.click()
    expect(page.locator(".h-entry")).to_contain_text("Posted after the last poll")


def test_admin_pages_have_no_console_errors_or_csp_violations(
    page: Page, site: Site, watch: Watch
) -> None:
    """Sign-in (wrong, then right), the dashboard, Connect, the cancel page and Poll now."""
    page.goto(site.base + "admin/login")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong password")
    sign_in(page, site)
    site.fake.deny_next_authorization = True
    connect_instagram(page, re.compile(r"/admin/instagram/callback\?error="))
    page.get_by_role("link", name="Back to Instagram in the admin").click()
    connect_instagram(page, CONNECTED)
    page.get_by_role("button", name="Poll now").click()
    expect(page).to_have_url(POLL_QUEUED)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(site.base + "admin/login")
    page.wait_for_timeout(250)  # reports are queued tasks: let the last page's arrive
    assert [] == watch.problems()


def test_the_watch_sees_a_csp_violation(page: Page, site: Site, watch: Watch) -> None:
    """The check above is not blind: an inline style on an admin page is reported."""
    page.goto(site.base + "admin/login")
    page.evaluate("document.head.append(Object.assign(document.createElement('style'), "
                  "{textContent: 'body { color: red }'}))")  # fmt: skip
    until(page, lambda: watch.csp, "a CSP violation report")
    assert watch.csp[0].startswith("CSP: style-src-elem blocked inline on "), watch.csp
