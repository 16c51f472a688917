"""Fixtures for the real-browser tests: Debian's Chromium under Playwright, a served Hearth
on http://127.0.0.1:PORT/ and the fake Instagram on http://localhost:PORT/, another site.

One browser per module (starting Chromium takes about a second); each test gets its own
site, its own fake and a fresh browser context (no cookies), with a `Watch` that collects
the console errors, page errors and Content-Security-Policy violations of every page.
Playwright never downloads a browser here: it drives /usr/bin/chromium, and the tests are
skipped, saying why, when that is missing or cannot start.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserType,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from hearth.syndication.instagram.fake import FakeInstagram
from tests.serving import ROOT, hearth_serve, serve_in_thread
from tests.syndication.instagram.served_instagram import Site, instagram_env

CHROMIUM = os.environ.get("HEARTH_TEST_CHROMIUM", "/usr/bin/chromium")
# Playwright already passes --headless, --no-sandbox (Chromium refuses its sandbox as root)
# and --disable-dev-shm-usage; the second try adds what some containers without a GPU or
# process namespaces need.
LAUNCH_ATTEMPTS: tuple[tuple[str, ...], ...] = (
    (),
    ("--disable-gpu", "--no-zygote", "--single-process"),
)
PASSWORD = "correct horse battery staple"
# Generous: the machine is slow and shared; passing waits return as soon as they can.
TIMEOUT_MS = 20_000
# Far beyond any test: only the poll that connecting queues, and Poll now, ever run.
NO_SCHEDULED_POLL = str(10**9)
# Reports each `securitypolicyviolation` to the test; Playwright adds it to every document
# through the DevTools protocol, so the page's own CSP (no scripts at all) does not stop it.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.hearthCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${event.documentURI}`
  );
});
"""


@dataclass
class Watch:
    """What went wrong in the pages of one browser context, as a person's DevTools shows it.

    Chromium logs "Failed to load resource: ... status of N" for any response of 400 or
    more. For a page the flow navigated to, that status is the page's own answer, which
    the tests check (401 for a wrong password, 400 for a refused callback), so it is not a
    problem here; for a stylesheet, image or icon it is.
    """

    console: list[tuple[str, str]] = field(default_factory=list)  # (message, its URL)
    documents: set[str] = field(default_factory=set)
    page_errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            url = str(message.location.get("url", ""))
            self.console.append((f"{message.type}: {message.text} ({url})", url))

    def on_response(self, response: Response) -> None:
        if response.request.is_navigation_request():
            self.documents.add(response.url)

    def on_csp(self, report: str) -> None:
        self.csp.append(f"CSP: {report}")

    def _page_status(self, text: str, url: str) -> bool:
        own = url in self.documents
        return own and "Failed to load resource: the server responded with a status" in text

    def problems(self) -> list[str]:
        console = [text for text, url in self.console if not self._page_status(text, url)]
        return console + self.page_errors + self.csp


def _launch(chromium: BrowserType) -> tuple[Browser | None, list[str]]:
    """The first launch that works, and why the ones before it failed."""
    failures = []
    for args in LAUNCH_ATTEMPTS:
        try:
            browser = chromium.launch(executable_path=CHROMIUM, args=list(args), timeout=60_000)
        except PlaywrightError as exc:
            lines = (exc.message or str(exc)).strip().splitlines()
            # The error, then what Chromium said on stderr and how it ended.
            said = [line for line in lines if "[err]" in line or "process did exit" in line]
            failures.append(f"args {list(args)}: " + " | ".join(lines[:1] + said[-4:]))
            continue
        return browser, failures
    return None, failures


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    """Debian's Chromium, headless; the module is skipped, with the reason, if it won't run."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` (.ci/run does)")
    with sync_playwright() as playwright:
        browser, failures = _launch(playwright.chromium)
        if browser is None:
            pytest.skip(f"Chromium at {CHROMIUM} does not start here: " + "; ".join(failures))
        yield browser
        browser.close()


@pytest.fixture(name="watch")
def watch_fixture() -> Watch:
    return Watch()


@pytest.fixture(name="page")
def page_fixture(browser: Browser, watch: Watch) -> Iterator[Page]:
    """A page in a fresh context (no cookies), its problems collected in `watch`."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.expose_function("hearthCspViolation", watch.on_csp)
    context.add_init_script(CSP_REPORTER)
    page = context.new_page()
    page.on("console", watch.on_console)
    page.on("response", watch.on_response)
    page.on("pageerror", lambda error: watch.page_errors.append(f"page error: {error}"))
    yield page
    context.close()


def _loopback_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to, which Hearth's resolver and Chromium may pick."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found = list(dict.fromkeys(str(info[4][0]) for info in infos))
    assert all(ipaddress.ip_address(a).is_loopback for a in found), found
    return found


def _bind_all(addresses: list[str]) -> list[socket.socket]:
    """One listening socket per address, all on the same free port."""
    for _ in range(20):
        sockets: list[socket.socket] = []
        try:
            port = 0  # the first bind picks it, the others take the same
            for address in addresses:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockets.append(socket.socket(family, socket.SOCK_STREAM))
                sockets[-1].bind((address, port))
                port = sockets[-1].getsockname()[1]
            return sockets
        except OSError as exc:
            for sock in sockets:
                sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
    raise AssertionError(f"no port free on all of {addresses}")


@contextmanager
def serve_on(host: str, make_app: Callable[[str], Any]) -> Iterator[tuple[str, list[str]]]:
    """`make_app(base)` served at base = http://HOST:PORT/ (on every loopback address of
    HOST, since Hearth and Chromium may pick any): the base and the addresses."""
    addresses = _loopback_addresses(host)
    sockets = _bind_all(addresses)
    base = f"http://{host}:{sockets[0].getsockname()[1]}/"
    with serve_in_thread(make_app(base), sockets):
        yield base, addresses


@contextmanager
def serve_instagram_on(host: str) -> Iterator[tuple[FakeInstagram, list[str]]]:
    """The fake Instagram at http://HOST:PORT/ (every address of HOST): it and the addresses."""
    fakes: list[FakeInstagram] = []

    def make_app(base: str) -> Any:
        fakes.append(FakeInstagram(base))
        return fakes[0].app()

    with serve_on(host, make_app) as (_base, addresses):
        yield fakes[0], addresses


def set_password(data_dir: Path, password: str) -> None:
    """`hearth set-password`, the password on stdin, as the owner runs it on the server."""
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "hearth.cli", "set-password"],
        input=password + "\n", env=env, cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert 0 == done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module", name="owner_sqlite")
def owner_sqlite_fixture(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Path:
    """A migrated database with the admin password set, made once per module (~1.5 s)."""
    data_dir = tmp_path_factory.mktemp("owner")
    shutil.copyfile(migrated_sqlite, data_dir / "hearth.sqlite3")
    set_password(data_dir, PASSWORD)
    return data_dir / "hearth.sqlite3"


@pytest.fixture(name="site")
def site_fixture(tmp_path: Path, owner_sqlite: Path) -> Iterator[Site]:
    """Hearth at http://127.0.0.1:PORT/ with its password set, Instagram at localhost."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    with serve_instagram_on("localhost") as (fake, addresses):
        networks = ",".join(str(ipaddress.ip_network(a)) for a in addresses)
        env = instagram_env(
            fake,
            HEARTH_ALLOW_PRIVATE_NETWORKS=networks,
            HEARTH_INSTAGRAM_POLL_SECONDS=NO_SCHEDULED_POLL,
        )
        with hearth_serve(data_dir, env=env) as served:
            yield Site(served, fake)
