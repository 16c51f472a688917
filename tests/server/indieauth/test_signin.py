"""Visitors sign in with their own site (https://indieauth.spec.indieweb.org/): Hearth over
ASGI as the client, the fake IndieAuth server on loopback, reached through the guarded client.

Every failure ends on a page that says what went wrong, with no session cookie and no row.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.indieauth import pkce
from hearth.server.indieauth.tables import PendingSignIn, VisitorSession
from tests.asgi_client import app_client
from tests.conftest import BASE_URL, seed_database
from tests.server.indieauth.fake_indieauth import (
    FakeIndieAuth,
    approve,
    closed_port_url,
    serving,
    sign_in,
    start_signin,
)

CLIENT_ID = BASE_URL + "indieauth/client"
REDIRECT_URI = BASE_URL + "signin/callback"


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, store: str | None) -> Settings:
    """The shared test site, allowed to reach the fake server on 127.0.0.1."""
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


@pytest.fixture(name="other_browser")
async def other_browser_fixture(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def assert_no_session(client: httpx.AsyncClient, answer: httpx.Response) -> None:
    assert "hearth_visitor" not in answer.headers.get("set-cookie", "")
    assert "hearth_visitor" not in client.cookies
    assert 0 == await VisitorSession.all().count()
    assert "Traceback" not in answer.text


async def test_happy_path(client: httpx.AsyncClient, fake: FakeIndieAuth) -> None:
    me = fake.base + "alice/"
    started = await start_signin(client, me)
    assert 303 == started.status_code, started.text
    asked = query(started.headers["location"])
    assert started.headers["location"].startswith(fake.base + "auth?")
    assert {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_challenge_method": "S256",
        "scope": "profile",
        "me": me,
    }.items() <= asked.items()
    assert 43 <= len(asked["state"])
    pending = await PendingSignIn.get()
    assert hashlib.sha256(asked["state"].encode()).hexdigest() == pending.state_hash
    assert pkce.s256_challenge(pending.code_verifier) == asked["code_challenge"]

    done = await client.get(await approve(started.headers["location"]))
    assert 303 == done.status_code, done.text
    assert BASE_URL == done.headers["location"]
    cookie = done.headers["set-cookie"]
    assert "hearth_visitor=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
    assert "samesite=lax" in cookie.lower() and "Path=/;" in cookie
    [redeemed] = fake.redemptions
    assert {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pending.code_verifier,
    }.items() <= redeemed.items()

    session = await VisitorSession.get()
    secret = client.cookies["hearth_visitor"]
    assert hashlib.sha256(secret.encode()).hexdigest() == session.id_hash
    assert secret not in session.id_hash
    assert (me, "Alice Visitor", "https://alice.example/me.jpg") == (
        session.me,
        session.name,
        session.photo,
    )
    assert 0 == await PendingSignIn.all().count()  # used up

    home = await client.get("/")
    footer = home.text.split('<footer class="site-footer">')[1]
    assert "Alice Visitor" in footer
    assert '<img src="https://alice.example/me.jpg" alt="Alice Visitor"' in footer
    assert "Sign out</button>" in footer
    assert ">Sign in</a>" not in footer
    assert "private" in home.headers["cache-control"]


async def test_signed_out_footer_links_to_signin(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert f'<a href="{BASE_URL}signin">Sign in</a>' in home.text


@pytest.mark.parametrize(
    ("path", "fake_setup"),
    [
        ("same/", {"me_path": "same/"}),  # another profile naming the same server
        ("moved/", {}),  # me is the permanent redirect's target, seen during discovery
        ("temp/", {}),
        ("html/", {}),
        ("legacy/", {"iss": "none"}),  # no metadata: no issuer, iss not required
    ],
)
async def test_other_ways_to_success(
    client: httpx.AsyncClient, fake: FakeIndieAuth, path: str, fake_setup: dict[str, str]
) -> None:
    for name, value in fake_setup.items():
        setattr(fake, name, value)
    done = await sign_in(client, fake.base + path)
    assert 303 == done.status_code, done.text
    session = await VisitorSession.get()
    expected = {"same/": "same/", "moved/": "alice/"}.get(path, path)
    assert fake.base + expected == session.me


@pytest.mark.parametrize(
    ("fake_setup", "status", "message"),
    [
        ({"iss": "wrong"}, 400, "'iss' is missing or different"),
        ({"iss": "none"}, 400, "'iss' is missing or different"),
        ({"state": "wrong"}, 400, "not started in this browser"),
        ({"error": "access_denied"}, 400, "declined"),
        ({"error": "server_error"}, 400, "could not sign you in (server_error)"),
        ({"me_path": "elsewhere/"}, 400, "names another IndieAuth server"),
        ({"me_path": "none/"}, 400, "could not be checked"),
        ({"redeem": "500"}, 502, "HTTP 500"),
        ({"redeem": "garbage"}, 502, "not a sign-in result"),
    ],
)
async def test_callback_failures(
    client: httpx.AsyncClient,
    fake: FakeIndieAuth,
    fake_setup: dict[str, str],
    status: int,
    message: str,
) -> None:
    for name, value in fake_setup.items():
        setattr(fake, name, value)
    answer = await sign_in(client, fake.base + "alice/")
    assert status == answer.status_code, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text.replace("&#39;", "'")
    assert "Sign-in failed" in answer.text
    await assert_no_session(client, answer)


async def test_replayed_callback(client: httpx.AsyncClient, fake: FakeIndieAuth) -> None:
    started = await start_signin(client, fake.base + "alice/")
    back = await approve(started.headers["location"])
    assert 303 == (await client.get(back)).status_code
    client.cookies.delete("hearth_visitor")
    again = await client.get(back)
    assert 400 == again.status_code
    assert "already used" in again.text
    assert 1 == await VisitorSession.all().count()


async def test_code_refused(client: httpx.AsyncClient, fake: FakeIndieAuth) -> None:
    """A code the server does not know (or knows as used): 400 invalid_grant, said plainly."""
    started = await start_signin(client, fake.base + "alice/")
    state = query(started.headers["location"])["state"]
    callback = {"code": "replayed-or-made-up", "state": state, "iss": fake.issuer}
    answer = await client.get(f"/signin/callback?{urlencode(callback)}")
    assert 400 == answer.status_code
    assert "refused the sign-in code" in answer.text
    await assert_no_session(client, answer)


async def test_server_down_at_redemption(client: httpx.AsyncClient, fake: FakeIndieAuth) -> None:
    fake.endpoint_override = closed_port_url() + "auth"
    started = await start_signin(client, fake.base + "alice/")
    assert started.headers["location"].startswith(fake.endpoint_override)
    state = query(started.headers["location"])["state"]
    callback = {"code": "abc", "state": state, "iss": fake.issuer}
    answer = await client.get(f"/signin/callback?{urlencode(callback)}")
    assert 502 == answer.status_code
    assert "Could not reach 127.0.0.1" in answer.text
    await assert_no_session(client, answer)


async def test_state_is_bound_to_the_browser(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient, fake: FakeIndieAuth
) -> None:
    """Another browser (with a sign-in cookie of its own) cannot use this browser's state."""
    started = await start_signin(client, fake.base + "alice/")
    back = await approve(started.headers["location"])
    await start_signin(other_browser, fake.base + "alice/")
    assert "hearth_signin" in other_browser.cookies
    stolen = await other_browser.get(back)
    assert 400 == stolen.status_code
    assert "not started in this browser" in stolen.text
    await assert_no_session(other_browser, stolen)
    # The browser that started it still can.
    assert 303 == (await client.get(back)).status_code


async def test_callback_without_anything(client: httpx.AsyncClient) -> None:
    answer = await client.get("/signin/callback")
    assert 400 == answer.status_code
    await assert_no_session(client, answer)


@pytest.mark.parametrize(
    ("entered", "status", "message"),
    [
        ("mailto:alice@example.com", 400, "must use http or https"),
        ("", 400, "empty"),
        ("https://alice.example/#me", 400, "fragment"),
        ("NONE", 400, "does not name an IndieAuth server"),
        ("LOOP", 502, "redirects more than 5 times"),
        ("DOWN", 502, "Could not reach"),
    ],
)
async def test_start_failures(
    client: httpx.AsyncClient, fake: FakeIndieAuth, entered: str, status: int, message: str
) -> None:
    entered = {"NONE": fake.base + "none/", "LOOP": fake.base + "loop/0"}.get(entered, entered)
    entered = closed_port_url() if entered == "DOWN" else entered
    answer = await start_signin(client, entered)
    assert status == answer.status_code, answer.text
    assert message in answer.text
    assert 'name="me"' in answer.text  # the form again, to correct it
    assert 0 == await PendingSignIn.all().count()
    await assert_no_session(client, answer)


async def test_start_needs_the_forms_token(client: httpx.AsyncClient, fake: FakeIndieAuth) -> None:
    await client.get("/signin")
    answer = await client.post("/signin", data={"me": fake.base + "alice/", "csrf_token": "x"})
    assert 403 == answer.status_code
    assert "form expired" in answer.text
    assert [] == fake.authorizations
    assert 0 == await PendingSignIn.all().count()


async def test_ip_and_port_refused_without_the_setting(
    settings: Settings, migrated_sqlite: Path
) -> None:
    """Without HEARTH_ALLOW_PRIVATE_NETWORKS an IP address host or a port is refused (§3.4)."""
    closed = dataclasses.replace(settings, allowed_private_networks=())
    seed_database(closed, migrated_sqlite)
    async with app_client(closed) as client:
        for entered, message in [
            ("http://127.0.0.1/", "not an IP address"),
            ("https://alice.example:8443/", "must not have a port"),
        ]:
            answer = await start_signin(client, entered)
            assert 400 == answer.status_code
            assert message in answer.text


async def test_signin_form(client: httpx.AsyncClient) -> None:
    form = await client.get("/signin")
    assert 200 == form.status_code
    assert '<label for="signin-me">' in form.text
    assert 'id="signin-me" name="me"' in form.text
    assert "hearth_signin_csrf" in form.headers["set-cookie"]
    assert "no-store" == form.headers["cache-control"]


async def test_starting_sign_ins_is_rate_limited(
    client: httpx.AsyncClient, fake: FakeIndieAuth
) -> None:
    """Each start makes Hearth fetch the entered site: ten a minute per address, no more."""
    answers = [await start_signin(client, fake.base + "alice/") for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [303] * 10
    assert answers[10].status_code == 429
    assert "Too many sign-ins" in answers[10].text
    assert int(answers[10].headers["retry-after"]) >= 1
