"""Admin sessions: the cookie's flags, server-side state, expiry, sign-out and fixation."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx

from hearth.server.admin import set_password
from hearth.server.admin.sessions import create_session
from hearth.server.core.models import AdminSession
from hearth.server.core.settings import Settings

Login = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]
OpenClient = Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]


def _session_cookie(response: httpx.Response) -> str:
    cookies = [
        c for c in response.headers.get_list("set-cookie") if c.startswith("hearth_session=")
    ]
    assert len(cookies) == 1, cookies
    return cookies[0]


def _flags(set_cookie: str) -> set[str]:
    return {part.strip().lower() for part in set_cookie.split(";")[1:]}


async def test_login_cookie_is_httponly_lax_secure_and_site_wide(
    client: httpx.AsyncClient, password: str, login: Login
) -> None:
    """On an https site the session cookie is HttpOnly, SameSite=Lax, Secure, Path=/: the
    owner is signed in on public pages and at the IndieAuth authorization endpoint too."""
    flags = _flags(_session_cookie(await login(client, password)))
    assert {"httponly", "samesite=lax", "secure", "path=/"} <= flags


async def test_login_cookie_is_not_secure_on_an_http_site(
    settings: Settings, open_client: OpenClient, login: Login
) -> None:
    """On a plain-http site the cookie drops Secure (the browser would not send it back)."""
    http_settings = replace(settings, url="http://example.test/", data_dir=settings.data_dir / "h")
    async with open_client(http_settings) as client:
        await set_password("correct horse battery staple")
        response = await login(client, "correct horse battery staple")
        assert response.status_code == 303
        flags = _flags(_session_cookie(response))
        assert {"httponly", "samesite=lax", "path=/"} <= flags
        assert "secure" not in flags
        assert (await client.get("/admin/")).status_code == 200


async def test_only_the_hash_of_the_session_id_is_stored(
    client: httpx.AsyncClient, password: str, login: Login
) -> None:
    """The database holds the SHA-256 of the cookie value, not the value itself."""
    await login(client, password)
    session_id = client.cookies["hearth_session"]
    assert len(session_id) >= 43
    stored = [session.id_hash for session in await AdminSession.all()]
    assert stored == [hashlib.sha256(session_id.encode()).hexdigest()]
    session = await AdminSession.get()
    assert session.expires_at - datetime.now(UTC) > timedelta(days=13)


async def test_dashboard_requires_login(client: httpx.AsyncClient, password: str) -> None:
    """Signed out, the dashboard redirects (303) to the sign-in page."""
    response = await client.get("/admin/")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


async def test_unknown_session_cookie_is_signed_out(
    client: httpx.AsyncClient, password: str
) -> None:
    """A made-up session cookie opens nothing."""
    client.cookies.set("hearth_session", "x" * 43, domain="example.test", path="/")
    assert (await client.get("/admin/")).status_code == 303


async def test_expired_session_is_signed_out(client: httpx.AsyncClient, signed_in: str) -> None:
    """A session past its expiry no longer opens the dashboard, and its row is removed."""
    await AdminSession.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await client.get("/admin/")).status_code == 303
    assert await AdminSession.all().count() == 0


async def test_logout_invalidates_the_session_server_side(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """After sign-out the old cookie value, replayed, no longer works."""
    old = client.cookies["hearth_session"]
    response = await client.post("/admin/logout", data={"csrf_token": signed_in})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert await AdminSession.all().count() == 0
    client.cookies.clear()
    client.cookies.set("hearth_session", old, domain="example.test", path="/")
    assert (await client.get("/admin/")).status_code == 303


async def test_logout_is_post_only(client: httpx.AsyncClient, signed_in: str) -> None:
    """GET /admin/logout does nothing (a link or image cannot sign the owner out)."""
    assert (await client.get("/admin/logout")).status_code in (404, 405)
    assert (await client.get("/admin/")).status_code == 200


async def test_login_issues_a_new_session_id(
    client: httpx.AsyncClient, password: str, login: Login
) -> None:
    """A session id planted before sign-in (fixation) is replaced, and stays useless."""
    planted = "attacker-chosen-session-id-0123456789abcdef"
    client.cookies.set("hearth_session", planted, domain="example.test", path="/")
    assert (await login(client, password)).status_code == 303
    issued = client.cookies["hearth_session"]
    assert issued != planted
    assert not await AdminSession.filter(
        id_hash=hashlib.sha256(planted.encode()).hexdigest()
    ).exists()


async def test_signing_in_again_replaces_the_previous_session(
    client: httpx.AsyncClient, password: str, csrf_in: Callable[[str], str]
) -> None:
    """A sign-in sent while a session is live (a form left open) replaces that session."""
    token = csrf_in((await client.get("/admin/login")).text)
    first, _ = await create_session()
    client.cookies.set("hearth_session", first, domain="example.test", path="/")
    response = await client.post("/admin/login", data={"csrf_token": token, "password": password})
    assert response.status_code == 303
    assert client.cookies["hearth_session"] != first
    assert await AdminSession.all().count() == 1


async def test_setting_a_new_password_signs_everyone_out(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """`hearth set-password` (set_password) ends every admin session."""
    await set_password("a brand new password")
    assert (await client.get("/admin/")).status_code == 303


async def test_signed_in_login_page_redirects_to_dashboard(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Visiting the sign-in page while signed in goes to the dashboard."""
    response = await client.get("/admin/login")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
