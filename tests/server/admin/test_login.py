"""Signing in: the form, wrong passwords, the per-address and site-wide locks, login CSRF."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.admin import device_cookie, passwords
from hearth.server.admin.ratelimit import GLOBAL_FACTOR, address_key
from hearth.server.core.models import LoginFailure
from hearth.server.core.settings import Settings

Login = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]
ADDRESS = "127.0.0.1"  # what httpx.ASGITransport reports as the client


async def _fail_until_locked(client: httpx.AsyncClient, login: Login, settings: Settings) -> None:
    for _ in range(settings.login_max_failures):
        response = await login(client, "wrong password!")
        assert response.status_code == 401


async def test_login_page_without_password_says_how_to_set_one(
    client: httpx.AsyncClient,
) -> None:
    """With no password stored, the sign-in page points to `hearth set-password`."""
    response = await client.get("/admin/login")
    assert response.status_code == 200
    assert "hearth set-password" in response.text
    assert 'type="password"' not in response.text


async def test_login_page_shows_the_form(client: httpx.AsyncClient, password: str) -> None:
    """With a password stored, the page is a password form with a CSRF field."""
    response = await client.get("/admin/login")
    assert response.status_code == 200
    assert 'type="password"' in response.text
    assert 'name="csrf_token"' in response.text


async def test_wrong_password_is_counted_and_reported(
    client: httpx.AsyncClient, password: str, login: Login, settings: Settings
) -> None:
    """A wrong password answers 401, says so, records a failure and sets no session."""
    response = await login(client, "not the password")
    assert response.status_code == 401
    assert "Wrong password" in response.text
    assert f"{settings.login_max_failures - 1} attempts left" in response.text
    assert await LoginFailure.filter(address=ADDRESS).count() == 1
    assert "hearth_session" not in client.cookies


async def test_right_password_signs_in(
    client: httpx.AsyncClient, password: str, login: Login
) -> None:
    """The right password redirects (303) to the dashboard, which then opens."""
    response = await login(client, password)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/"
    assert (await client.get("/admin/")).status_code == 200


async def test_repeated_failures_lock_even_the_right_password(
    client: httpx.AsyncClient,
    password: str,
    login: Login,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After login_max_failures failures the address gets 429 + Retry-After, unchecked."""
    await _fail_until_locked(client, login, settings)
    checked: list[str] = []

    async def spy(candidate: str) -> bool:
        checked.append(candidate)
        return True

    monkeypatch.setattr(passwords, "verify_password", spy)
    response = await login(client, password)
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= settings.login_lock_seconds
    assert "Too many failed sign-ins" in response.text
    assert checked == []
    assert "hearth_session" not in client.cookies


async def test_lock_expires(
    client: httpx.AsyncClient, password: str, login: Login, settings: Settings
) -> None:
    """Once the failures are older than login_lock_seconds, the right password works again."""
    await _fail_until_locked(client, login, settings)
    assert (await login(client, password)).status_code == 429
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.login_lock_seconds + 1)
    await LoginFailure.all().update(at=long_ago)
    assert (await login(client, password)).status_code == 303


async def test_successful_login_clears_the_address_failures(
    client: httpx.AsyncClient, password: str, login: Login
) -> None:
    """Signing in forgets earlier failures from that address."""
    await login(client, "not the password")
    await LoginFailure.create(address="203.0.113.9")
    assert (await login(client, password)).status_code == 303
    assert await LoginFailure.filter(address=ADDRESS).count() == 0
    assert await LoginFailure.filter(address="203.0.113.9").count() == 1


async def test_many_failures_from_many_addresses_lock_unknown_browsers(
    client: httpx.AsyncClient, password: str, login: Login, settings: Settings
) -> None:
    """The site-wide cap (GLOBAL_FACTOR x the per-address limit) blocks distributed guessing
    by browsers that have not signed in before."""
    for n in range(settings.login_max_failures * GLOBAL_FACTOR):
        await LoginFailure.create(address=f"198.51.100.{n % 250}")
    response = await login(client, password)
    assert response.status_code == 429
    assert "retry-after" in response.headers
    assert "browsers that have not signed in here before" in response.text


async def test_login_without_csrf_token_is_forbidden_and_not_counted(
    client: httpx.AsyncClient, password: str
) -> None:
    """A sign-in POST without the form's CSRF token gets 403 and counts no failure."""
    await client.get("/admin/login")
    response = await client.post("/admin/login", data={"password": password})
    assert response.status_code == 403
    assert "hearth_session" not in client.cookies
    assert await LoginFailure.all().count() == 0


async def test_login_token_without_its_cookie_is_forbidden(
    client: httpx.AsyncClient, password: str, csrf_in: Callable[[str], str]
) -> None:
    """A token copied from another browser's form (a cross-site forgery) is refused."""
    token = csrf_in((await client.get("/admin/login")).text)
    client.cookies.clear()
    response = await client.post("/admin/login", data={"csrf_token": token, "password": password})
    assert response.status_code == 403
    assert "hearth_session" not in client.cookies


def test_ipv6_clients_are_counted_per_64_network() -> None:
    """Addresses of one IPv6 /64 share a failure count; IPv4 addresses count singly."""
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("203.0.113.5") == "203.0.113.5"
    assert address_key("::ffff:203.0.113.5") == "203.0.113.5"


async def test_concurrent_guesses_cannot_exceed_the_limit(
    client: httpx.AsyncClient,
    password: str,
    settings: Settings,
    csrf_in: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guesses sent in parallel get at most login_max_failures password checks in all."""
    checked: list[str] = []

    async def slow_wrong(candidate: str) -> bool:
        checked.append(candidate)
        await asyncio.sleep(0.01)
        return False

    monkeypatch.setattr(passwords, "verify_password", slow_wrong)
    token = csrf_in((await client.get("/admin/login")).text)
    guesses = [
        client.post("/admin/login", data={"csrf_token": token, "password": f"guess {n}"})
        for n in range(settings.login_max_failures * 3)
    ]
    statuses = sorted(r.status_code for r in await asyncio.gather(*guesses))
    assert len(checked) == settings.login_max_failures
    assert statuses.count(401) == settings.login_max_failures
    assert set(statuses) == {401, 429}


# Device cookies (OWASP): an attacker's failures never lock out the owner's known browser.


def _browser(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=str(app.state.settings.url))


async def _attack_from_ten_addresses(app: Starlette, login: Login, settings: Settings) -> None:
    """The attack of issue 13: 5 wrong passwords from each of 10 addresses (no device)."""
    for n in range(GLOBAL_FACTOR):
        async with _browser(app, f"198.51.100.{n + 1}") as attacker:
            for _ in range(settings.login_max_failures):
                assert (await login(attacker, "guess!")).status_code == 401
    assert (await login(_browser(app, "198.51.100.77"), "guess!")).status_code == 429


async def test_a_known_device_signs_in_despite_an_attack(
    app: Starlette, password: str, login: Login, settings: Settings
) -> None:
    """The owner's browser, known from an earlier sign-in, signs in at once after the attack;
    an unknown browser (on the owner's address too, as behind a proxy) is throttled."""
    owner = _browser(app, "127.0.0.1")
    assert (await login(owner, password)).status_code == 303
    assert device_cookie.COOKIE in owner.cookies
    owner.cookies.delete("hearth_session")
    await _attack_from_ten_addresses(app, login, settings)
    # The attacker also guesses from the owner's own address (a shared proxy address).
    async with _browser(app, "127.0.0.1") as same_address:
        for _ in range(settings.login_max_failures):
            await login(same_address, "guess!")
        response = await login(same_address, password)
        assert response.status_code == 429
        assert "hearth_session" not in same_address.cookies
    response = await login(owner, password)
    assert response.status_code == 303
    assert (await owner.get("/admin/")).status_code == 200


async def test_a_forged_device_cookie_counts_as_unknown(
    app: Starlette, password: str, login: Login, settings: Settings
) -> None:
    """A device cookie Hearth did not sign (or one signed under another key) is no device."""
    await _attack_from_ten_addresses(app, login, settings)
    other = Settings(url=settings.url, data_dir=settings.data_dir)  # another secret key
    forged = [
        "A" * 22 + "." + "0" * 64,
        device_cookie.new_cookie(other),
        device_cookie.new_cookie(settings).replace(".", "x.", 1),
    ]
    for value in forged:
        async with _browser(app, "203.0.113.5") as browser:
            browser.cookies.set(device_cookie.COOKIE, value, path=device_cookie.COOKIE_PATH)
            response = await login(browser, password)
            assert response.status_code == 429
            assert "hearth_session" not in browser.cookies


async def test_a_known_devices_own_failures_lock_only_it(
    app: Starlette, password: str, login: Login, settings: Settings
) -> None:
    """A stolen-looking device guessing is locked on its own count; other clients are not."""
    device = _browser(app, "127.0.0.1")
    assert (await login(device, password)).status_code == 303
    device.cookies.delete("hearth_session")
    for _ in range(settings.login_max_failures):
        assert (await login(device, "guess!")).status_code == 401
    response = await login(device, password)
    assert response.status_code == 429
    assert "this browser" in response.text
    async with _browser(app, "127.0.0.1") as fresh:
        assert (await login(fresh, password)).status_code == 303
