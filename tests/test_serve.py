"""`hearth serve` for real: uvicorn on 127.0.0.1, plain HTTP requests, a clean SIGTERM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import mf2py
import pytest

from tests.serving import hearth_cli, hearth_serve


@pytest.fixture(name="server", scope="module")
def server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A demo site served by `hearth serve` in its own process."""
    data_dir: Path = tmp_path_factory.mktemp("served")
    # The demo needs the URL the server will have, so the port is taken first.
    with hearth_serve(data_dir, env={"HEARTH_NAME": "Served Owner"}) as served:
        hearth_cli(served.env, "demo")
        yield served.base


def test_home_page_is_a_living_site(server: str) -> None:
    """The served home page has the owner's h-card, an h-feed of demo posts, and the h-app
    that names Hearth to IndieAuth servers older than Client ID Metadata Documents."""
    response = httpx.get(server)
    doc = mf2py.parse(doc=response.text, url=server)
    types = [item["type"][0] for item in doc["items"]]
    assert types == ["h-card", "h-feed", "h-app"]
    assert doc["items"][0]["properties"]["name"] == ["Served Owner"]
    assert len(doc["items"][1]["children"]) >= 5


def test_permalink_and_shortlink(server: str) -> None:
    """A permalink from the feed answers 200; its short link answers 301 back to it."""
    doc = mf2py.parse(doc=httpx.get(server).text, url=server)
    permalink = doc["items"][1]["children"][0]["properties"]["url"][0]
    page = httpx.get(permalink)
    assert page.status_code == 200
    short = page.links["shortlink"]["url"]
    redirect = httpx.get(short)
    assert redirect.status_code == 301
    assert permalink == redirect.headers["location"]


def test_three_feeds(server: str) -> None:
    """Atom, RSS and JSON Feed answer with their content types and the demo posts."""
    expected = {
        "feed.atom": "application/atom+xml",
        "feed.rss": "application/rss+xml",
        "feed.json": "application/feed+json",
    }
    for path, content_type in expected.items():
        response = httpx.get(server + path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(content_type)
        assert "Welcome to Hearth" in response.text


def test_media_served_with_exact_type(server: str) -> None:
    """The demo photo is served from the media store as image/jpeg."""
    doc = mf2py.parse(doc=httpx.get(server).text, url=server)
    photos = [
        child["properties"]["photo"][0]
        for child in doc["items"][1]["children"]
        if "photo" in child["properties"]
    ]
    response = httpx.get(photos[0]["value"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content.startswith(b"\xff\xd8")


def test_a_token_revoked_by_the_command_is_refused_by_the_running_server(
    tmp_path: Path,
) -> None:
    """`hearth token revoke`, another process, ends a token `hearth serve` has just accepted
    (and keeps in memory) before its very next request."""
    with hearth_serve(tmp_path) as served:
        token = hearth_cli(served.env, "token", "create", "--scope", "create").splitlines()[-1]
        auth = {"Authorization": f"Bearer {token}"}
        config = f"{served.base}micropub?q=config"
        assert [httpx.get(config, headers=auth).status_code for _ in range(3)] == [200] * 3
        hearth_cli(served.env, "token", "revoke", token)
        assert httpx.get(config, headers=auth).status_code == 401
