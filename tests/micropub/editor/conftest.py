"""Fixtures of the editor's tests: the real app on a made-up web, and form helpers.

The app's guarded client reaches the web through `httpx.MockTransport` (every address
allowed, so the made-up hosts need no DNS): `web` answers the reply/like targets whose
previews the editor shows. The site's time zone is Europe/Paris, so times are converted.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from hearth.app import create_app
from hearth.server.core.models import Post
from hearth.server.core.settings import ALL_NETWORKS, Settings
from tests.conftest import BASE_URL, seed_database

ZONE = "Europe/Paris"
NEW = "/admin/posts/new"


@dataclass
class Web:
    """Pages by URL (404 for any other), and the URLs asked for."""

    pages: dict[str, str] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        body = self.pages.get(str(request.url))
        if body is None:
            return httpx.Response(404, text="Not found")
        return httpx.Response(200, text=body, headers={"Content-Type": "text/html"})


@pytest.fixture(name="web")
def web_fixture() -> Web:
    return Web()


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, store: str | None) -> Settings:
    return Settings(
        url=BASE_URL,
        data_dir=tmp_path / "data",
        database_url=store,
        name="Alice Example",
        page_size=5,
        allowed_private_networks=ALL_NETWORKS,
        timezone=ZONE,
    )


@pytest.fixture(name="app")
async def app_fixture(
    settings: Settings, migrated_sqlite: Path, web: Web
) -> AsyncIterator[Starlette]:
    seed_database(settings, migrated_sqlite)
    app = create_app(settings, http_transport=httpx.MockTransport(web))
    async with app.router.lifespan_context(app):
        yield app


def png(color: str = "red", size: tuple[int, int] = (4, 3)) -> bytes:
    """A small PNG made with Pillow."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


Fields = Mapping[str, str | Sequence[str]]


async def submit(
    client: httpx.AsyncClient,
    path: str,
    csrf: str | None,
    fields: Fields,
    files: Sequence[tuple[str, tuple[str, bytes, str]]] = (),
) -> httpx.Response:
    """POST the editor form as a browser does (multipart), with the CSRF token if given."""
    data: dict[str, Any] = dict(fields)
    if csrf is not None:
        data["csrf_token"] = csrf
    # An empty file part, as a browser sends an untouched file input, keeps it multipart.
    parts = list(files) or [("photos", ("", b"", "application/octet-stream"))]
    return await client.post(path, data=data, files=parts)


def editor_values(html: str) -> dict[str, str]:
    """The value of each text input of a rendered editor, by name (textareas too), as a
    browser would send them back (entities decoded)."""
    pattern = r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"'
    values = {m[1]: unescape(m[2]) for m in re.finditer(pattern, html)}
    for m in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        # An HTML parser drops the newline that starts a textarea's text.
        values[m[1]] = unescape(m[2].removeprefix("\n"))
    return values


def edit_path(post: Post) -> str:
    return f"/admin/posts/{post.id}/edit"


async def only_post() -> Post:
    posts = await Post.all()
    assert len(posts) == 1, posts
    return posts[0]
