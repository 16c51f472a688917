"""Visitor sessions (the viewer on public pages, signing out) and Hearth's client_id
document (https://indieauth.spec.indieweb.org/#client-information-discovery)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import mf2py
import pytest

from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.indieauth.client_document import prefers_html
from hearth.server.indieauth.tables import VisitorSession
from tests.conftest import BASE_URL
from tests.server.indieauth.fake_indieauth import FakeIndieAuth, csrf_in, serving, sign_in


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, store: str | None) -> Settings:
    return Settings(
        url=BASE_URL,
        data_dir=tmp_path / "data",
        database_url=store,
        name="Alice Example",
        photo="https://example.test/alice.jpg",
        allowed_private_networks=ALL_NETWORKS,
    )


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeIndieAuth]:
    with serving() as fake:
        yield fake


@pytest.fixture(name="visitor")
async def visitor_fixture(client: httpx.AsyncClient, fake: FakeIndieAuth) -> VisitorSession:
    """`client` signed in as the fake's /alice/."""
    done = await sign_in(client, fake.base + "alice/")
    assert 303 == done.status_code, done.text
    return await VisitorSession.get()


def footer(html: str) -> str:
    return html.split('<footer class="site-footer">')[1]


async def test_signout_needs_the_token(client: httpx.AsyncClient, visitor: VisitorSession) -> None:
    for data in ({}, {"csrf_token": "forged"}):
        refused = await client.post("/signout", data=data)
        assert 403 == refused.status_code
        assert "Not signed out" in refused.text
    await visitor.refresh_from_db()
    assert visitor.ended_at is None
    assert "Sign out</button>" in footer((await client.get("/")).text)


async def test_signout(client: httpx.AsyncClient, visitor: VisitorSession) -> None:
    home = await client.get("/")
    token = csrf_in(footer(home.text))
    assert visitor.csrf_token == token
    done = await client.post("/signout", data={"csrf_token": token})
    assert 303 == done.status_code
    assert 'hearth_visitor=""' in done.headers["set-cookie"]
    await visitor.refresh_from_db()
    assert visitor.ended_at is not None  # kept, ended
    after = footer((await client.get("/")).text)
    assert ">Sign in</a>" in after and "Alice Visitor" not in after


async def test_ended_session_cookie_is_not_a_viewer(
    client: httpx.AsyncClient, visitor: VisitorSession
) -> None:
    secret = client.cookies["hearth_visitor"]
    await client.post("/signout", data={"csrf_token": visitor.csrf_token})
    client.cookies.set("hearth_visitor", secret, domain="example.test")
    assert ">Sign in</a>" in footer((await client.get("/")).text)


async def test_expired_session_is_not_a_viewer(
    client: httpx.AsyncClient, visitor: VisitorSession
) -> None:
    await VisitorSession.filter(id=visitor.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert ">Sign in</a>" in footer((await client.get("/")).text)


async def test_session_lasts_the_configured_days(visitor: VisitorSession) -> None:
    left = visitor.expires_at - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)


async def test_signout_without_session(client: httpx.AsyncClient) -> None:
    client.cookies.set("hearth_visitor", "unknown", domain="example.test")
    done = await client.post("/signout", data={})
    assert 303 == done.status_code
    assert 'hearth_visitor=""' in done.headers["set-cookie"]


async def test_unknown_cookie_is_anonymous(client: httpx.AsyncClient) -> None:
    client.cookies.set("hearth_visitor", "x" * 43, domain="example.test")
    home = await client.get("/")
    assert ">Sign in</a>" in footer(home.text)
    assert "private" not in home.headers.get("cache-control", "")


# The client_id document ---------------------------------------------------------------------


async def test_client_document_json(client: httpx.AsyncClient) -> None:
    answer = await client.get("/indieauth/client", headers={"Accept": "application/json"})
    assert 200 == answer.status_code
    assert answer.headers["content-type"].startswith("application/json")
    assert {
        "client_id": BASE_URL + "indieauth/client",
        "client_name": "Alice Example",
        "client_uri": BASE_URL,
        "logo_uri": "https://example.test/alice.jpg",
        "redirect_uris": [BASE_URL + "signin/callback"],
    } == answer.json()
    assert "Accept" in answer.headers["vary"]
    # No Accept header at all: JSON too.
    plain = await client.get("/indieauth/client", headers={"Accept": ""})
    assert plain.json()["client_id"] == BASE_URL + "indieauth/client"


async def test_client_document_html(client: httpx.AsyncClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    answer = await client.get("/indieauth/client", headers={"Accept": accept})
    assert answer.headers["content-type"].startswith("text/html")
    parsed = mf2py.parse(doc=answer.text, url=str(answer.url))
    assert [BASE_URL + "signin/callback"] == parsed["rels"]["redirect_uri"]
    [app] = [item for item in parsed["items"] if "h-app" in item["type"]]
    assert ["Alice Example"] == app["properties"]["name"]
    assert [BASE_URL] == app["properties"]["url"]


async def test_home_page_has_an_h_app(client: httpx.AsyncClient) -> None:
    answer = await client.get("/")
    parsed = mf2py.parse(doc=answer.text, url=BASE_URL)
    [app] = [item for item in parsed["items"] if "h-app" in item["type"]]
    assert ["Alice Example"] == app["properties"]["name"]
    assert [BASE_URL] == app["properties"]["url"]
    assert "logo" in app["properties"]


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/html", True),
        ("text/html;q=0.5, application/json", False),
        ("application/json;q=0.5, text/*", True),
        ("text/html, application/json", False),  # a tie: JSON
        ("text/html;q=x, application/json;q=0.1", False),
    ],
)
def test_prefers_html(accept: str | None, html: bool) -> None:
    assert html is prefers_html(accept)


async def test_signing_in_again_ends_the_old_session(
    client: httpx.AsyncClient, fake: FakeIndieAuth, visitor: VisitorSession
) -> None:
    fake.me_path = "same/"
    done = await sign_in(client, fake.base + "alice/")
    assert 303 == done.status_code, done.text
    await visitor.refresh_from_db()
    assert visitor.ended_at is not None
    live = await VisitorSession.get(ended_at=None)
    assert fake.base + "same/" == live.me
