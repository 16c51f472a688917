"""IndieAuth end to end: a Micropub client signs in with the site's URL, the owner approves
in Debian's Chromium, and the client posts, refreshes, introspects and revokes.

Hearth runs as a real `hearth serve` at http://127.0.0.1:PORT/; the client is a small app at
http://localhost:PORT/ (another site to the browser) that publishes its Client ID Metadata
Document and records what comes back to its redirect URI. The client's own HTTP is played
by this test with httpx, as Quill's server would do it.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from hearth.server.indieauth import pkce
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, Watch, serve_on
from tests.serving import Served, hearth_serve

# The served site starts from a SQLite file with the owner's password (browser conftest):
# a browser flow, not a store; its ASGI twins run on PostgreSQL too.
pytestmark = pytest.mark.one_store

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Client:
    """The Micropub client's web side: its metadata, and the answers its callback got."""

    base: str = ""
    answers: list[dict[str, str]] = field(default_factory=list)

    @property
    def callback(self) -> str:
        return self.base + "callback"

    def app(self, base: str) -> Any:
        self.base = base

        async def metadata(request: Request) -> JSONResponse:
            return JSONResponse({
                "client_id": self.base,
                "client_name": "Test Micropub Client",
                "client_uri": self.base,
                "redirect_uris": [self.callback],
            })  # fmt: skip

        async def callback(request: Request) -> HTMLResponse:
            self.answers.append(dict(request.query_params))
            return HTMLResponse("<!doctype html><title>Back</title><h1>Back at the client</h1>")

        async def no_icon(request: Request) -> Response:
            return Response(status_code=204)

        routes = [
            Route("/", metadata),
            Route("/callback", callback),
            Route("/favicon.ico", no_icon),
        ]
        return Starlette(routes=routes)


@pytest.fixture(name="client")
def client_fixture() -> Iterator[tuple[Client, list[str]]]:
    client = Client()
    with serve_on("localhost", client.app) as (_base, addresses):
        yield client, addresses


@pytest.fixture(name="site")
def site_fixture(
    tmp_path: Path, owner_sqlite: Path, client: tuple[Client, list[str]]
) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copyfile(owner_sqlite, data_dir / "hearth.sqlite3")
    networks = ",".join(str(ipaddress.ip_network(a)) for a in client[1])
    with hearth_serve(data_dir, env={"HEARTH_ALLOW_PRIVATE_NETWORKS": networks}) as served:
        yield served


def _discover(base: str) -> dict[str, Any]:
    """What a client finds from the site's URL: the metadata, through the home page's link."""
    home = httpx.get(base)
    metadata_url = urljoin(base, home.links["indieauth-metadata"]["url"])
    metadata = httpx.get(metadata_url).json()
    assert isinstance(metadata, dict)
    return metadata


def _approve(page: Page, site: Served, app: Client, metadata: dict[str, Any]) -> tuple[str, str]:
    """The owner signs in and allows `app` (without `media`); the state and the verifier."""
    verifier, state = pkce.new_verifier(), secrets.token_urlsafe(16)
    query = urlencode({
        "response_type": "code", "client_id": app.base, "redirect_uri": app.callback,
        "state": state, "code_challenge": pkce.s256_challenge(verifier),
        "code_challenge_method": "S256", "scope": "create media profile", "me": site.base,
    })  # fmt: skip
    page.goto(f"{metadata['authorization_endpoint']}?{query}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Allow Test Micropub Client?")).to_be_visible()
    for scope in ("create", "media", "profile"):
        expect(page.locator(f'input[name="scope"][value="{scope}"]')).to_be_checked()
    page.locator('input[name="scope"][value="media"]').uncheck()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Back at the client")).to_be_visible()
    return state, verifier


def _tokens(app: Client, metadata: dict[str, Any], verifier: str) -> dict[str, Any]:
    issued = httpx.post(metadata["token_endpoint"], data={
        "grant_type": "authorization_code", "code": app.answers[-1]["code"],
        "client_id": app.base, "redirect_uri": app.callback, "code_verifier": verifier,
    }).json()  # fmt: skip
    assert isinstance(issued, dict)
    return issued


def test_a_client_signs_in_posts_refreshes_and_is_revoked(
    page: Page, watch: Watch, site: Served, client: tuple[Client, list[str]]
) -> None:
    app = client[0]
    metadata = _discover(site.base)
    state, verifier = _approve(page, site, app, metadata)
    assert watch.problems() == []

    answer = app.answers[-1]
    assert answer["state"] == state
    assert answer["iss"] == metadata["issuer"]
    token_endpoint = metadata["token_endpoint"]
    issued = _tokens(app, metadata, verifier)
    assert issued["scope"] == "create profile"
    assert issued["me"] == site.base
    assert issued["profile"]["url"] == site.base

    micropub = httpx.get(site.base).links["micropub"]["url"]
    created = httpx.post(
        micropub, data={"h": "entry", "content": "Signed in with my own site"},
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    )  # fmt: skip
    assert created.status_code == 201
    assert "Signed in with my own site" in httpx.get(created.headers["location"]).text

    renewed = httpx.post(token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
        "client_id": app.base,
    }).json()  # fmt: skip
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    introspected = httpx.post(
        metadata["introspection_endpoint"], data={"token": renewed["access_token"]},
        headers=bearer,
    ).json()  # fmt: skip
    assert introspected["active"] is True
    assert introspected["client_id"] == app.base

    revoked = httpx.post(metadata["revocation_endpoint"], data={"token": renewed["access_token"]})
    assert revoked.status_code == 200
    refused = httpx.post(micropub, data={"h": "entry", "content": "after"}, headers=bearer)
    assert refused.status_code == 401


def test_the_owner_revokes_an_app_in_the_admin(
    page: Page, watch: Watch, site: Served, client: tuple[Client, list[str]]
) -> None:
    app = client[0]
    metadata = _discover(site.base)
    _state, verifier = _approve(page, site, app, metadata)
    issued = _tokens(app, metadata, verifier)

    page.goto(site.base + "admin/apps")
    apps = page.locator("section#apps")
    expect(apps.get_by_role("heading", name="Test Micropub Client")).to_be_visible()
    expect(apps).to_contain_text("create profile")
    page.get_by_role("button", name="Revoke all of Test Micropub Client's access").click()
    expect(page.get_by_role("status")).to_contain_text("access is revoked")
    expect(page.locator("section#apps")).to_contain_text("No app has access")
    assert watch.problems() == []

    micropub = httpx.get(site.base).links["micropub"]["url"]
    refused = httpx.post(
        micropub, data={"h": "entry", "content": "after"},
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    )  # fmt: skip
    assert refused.status_code == 401
    renewed = httpx.post(metadata["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": issued["refresh_token"],
        "client_id": app.base,
    })  # fmt: skip
    assert renewed.json()["error"] == "invalid_grant"
