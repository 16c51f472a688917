"""hearth.server.indieauth.delegation: Micropub trusting another IndieAuth server's tokens.

Spec: https://indieauth.spec.indieweb.org/20201126/#access-token-verification

A fake token endpoint is served for real on 127.0.0.1 (a small Starlette app that counts
its calls); Hearth is the real app, delegating to it, and each test drives a real Micropub
create (or media upload) and checks what landed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from hearth.server.core.models import Post
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.core.tokens import mint_token
from hearth.server.indieauth import delegation
from hearth.server.indieauth.indieauth_settings import with_indieauth
from tests.asgi_client import app_client
from tests.conftest import BASE_URL, seed_database
from tests.serving import loopback_base, loopback_socket, serve_in_thread

CLIENT_ID = "https://quill.example/"
FORM_TYPE = "application/x-www-form-urlencoded"
# How long the slow endpoint may take at most; the test lowers Hearth's timeout far below.
SLOW_SECONDS = 11.0


def _me_answer(me: str, scope: str) -> Response:
    return JSONResponse({"me": me, "client_id": CLIENT_ID, "scope": scope})


@dataclass
class FakeTokenEndpoint:
    """A legacy IndieAuth token endpoint; the token's part before any "." says how it
    answers ("garbage.s3cret" gets a garbage answer)."""

    base: str = ""
    # (Authorization, Accept) of every verification request it got.
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Lets the slow answer end when the test is over.
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.base + "token"

    async def verify(self, request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        self.calls.append((authorization, request.headers.get("accept", "")))
        token = authorization.removeprefix("Bearer ").partition(".")[0]
        if token == "valid-create":
            return _me_answer(BASE_URL, "create")
        if token == "valid-update":
            return _me_answer(BASE_URL, "update")
        if token == "valid-other-case":
            return _me_answer("HTTPS://EXAMPLE.TEST:443/", "create media")
        if token == "valid-form":
            body = f"me={BASE_URL}&client_id={CLIENT_ID}&scope=create+update"
            return Response(body, media_type=FORM_TYPE)
        if token == "elsewhere":
            return _me_answer("https://elsewhere.example/", "create")
        if token == "other-port":
            return _me_answer("https://example.test:8443/", "create")
        if token == "slow":
            await asyncio.to_thread(self.release.wait, SLOW_SECONDS)
            return _me_answer(BASE_URL, "create")
        if token == "broken":
            return PlainTextResponse("Internal Server Error", status_code=500)
        if token == "busy":
            return PlainTextResponse("slow down", status_code=429)
        if token == "garbage":
            return PlainTextResponse("<html>not an answer</html>")
        if token == "no-me":
            return JSONResponse({"client_id": CLIENT_ID, "scope": "create"})
        if token == "moved":
            return RedirectResponse("https://elsewhere.example/token", status_code=302)
        return JSONResponse({"error": "invalid_token"}, status_code=401)


@pytest.fixture(name="remote")
def remote_fixture() -> Iterator[FakeTokenEndpoint]:
    fake = FakeTokenEndpoint()
    app = Starlette(routes=[Route("/token", fake.verify)])
    sock = loopback_socket()
    fake.base = loopback_base(sock)
    with serve_in_thread(app, [sock]):
        try:
            yield fake
        finally:
            fake.release.set()


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cache's clock, moved on by the test (`clock[0] += seconds`)."""
    now = [1000.0]
    monkeypatch.setattr(delegation, "monotonic", lambda: now[0])
    return now


def _closed_port_url() -> str:
    sock = loopback_socket()
    base = loopback_base(sock)
    sock.close()
    return base + "token"


@asynccontextmanager
async def delegating(
    settings: Settings, migrated_sqlite: Path, token_endpoint: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on Hearth delegating to `token_endpoint` (on loopback, so allowed)."""
    settings = with_indieauth(
        replace(settings, allowed_private_networks=ALL_NETWORKS),
        authorization_endpoint="https://auth.example/auth",
        token_endpoint=token_endpoint,
    )
    seed_database(settings, migrated_sqlite)
    async with app_client(settings) as client:
        yield client


@pytest.fixture(name="client")
async def client_fixture(
    settings: Settings, migrated_sqlite: Path, remote: FakeTokenEndpoint
) -> AsyncIterator[httpx.AsyncClient]:
    async with delegating(settings, migrated_sqlite, remote.url) as client:
        yield client


async def _create(client: httpx.AsyncClient, token: str, content: str) -> httpx.Response:
    return await client.post(
        "/micropub",
        content=f"h=entry&content={content}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": FORM_TYPE},
    )


async def _assert_nothing_stored() -> None:
    assert 0 == await Post.all().count()


# Valid tokens ---------------------------------------------------------------------------------


async def test_valid_remote_token_creates_the_post(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint
) -> None:
    """A token the endpoint vouches for (me = this site, scope create) makes a post that is
    on the site; the endpoint was asked as the spec says, once."""
    response = await _create(client, "valid-create", "Posted+from+elsewhere")
    assert 201 == response.status_code, response.text
    page = await client.get(response.headers["location"])
    assert 200 == page.status_code
    assert "Posted from elsewhere" in page.text
    assert [("Bearer valid-create", "application/json")] == remote.calls
    post = await Post.get()
    assert CLIENT_ID == post.client_id


async def test_form_encoded_answer_is_read(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint
) -> None:
    """An endpoint answering form-encoded (by its content type) is understood too."""
    response = await _create(client, "valid-form", "Form+answer")
    assert 201 == response.status_code, response.text


async def test_me_is_compared_case_insensitively_with_default_port(
    client: httpx.AsyncClient,
) -> None:
    """HTTPS://EXAMPLE.TEST:443/ is this site."""
    response = await _create(client, "valid-other-case", "Shouting")
    assert 201 == response.status_code, response.text


async def test_remote_token_without_create_is_insufficient_scope(
    client: httpx.AsyncClient,
) -> None:
    """Scope is honoured as for Hearth's own tokens: 401 insufficient_scope, nothing stored."""
    response = await _create(client, "valid-update", "Not+allowed")
    assert 401 == response.status_code
    assert "insufficient_scope" == response.json()["error"]
    assert "create" == response.json()["scope"]
    await _assert_nothing_stored()


async def test_own_token_works_without_asking_the_endpoint(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint
) -> None:
    """Tokens from `hearth token create` (mint_token) keep working, checked locally."""
    secret, _ = await mint_token(me=BASE_URL, scope="create")
    response = await _create(client, secret, "Own+token")
    assert 201 == response.status_code, response.text
    assert [] == remote.calls


# Refused tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["invalid", "elsewhere", "other-port"])
async def test_refused_token_is_401(client: httpx.AsyncClient, token: str) -> None:
    """A token the endpoint refuses, or vouches for on another host or port, is 401."""
    response = await _create(client, token, "Nope")
    assert 401 == response.status_code
    assert "unauthorized" == response.json()["error"]
    await _assert_nothing_stored()


# An endpoint that cannot answer: 503, never a pass --------------------------------------------


@pytest.mark.parametrize("token", ["broken", "busy", "garbage", "no-me", "moved"])
async def test_broken_endpoint_is_503(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint, token: str
) -> None:
    """500, 429, a 200 that is no answer (not JSON, no `me`) and a redirect are all 503
    temporarily_unavailable with Retry-After; nothing is stored. The redirect is not
    followed (the token would go with it)."""
    response = await _create(client, token, "Maybe")
    assert 503 == response.status_code
    assert "temporarily_unavailable" == response.json()["error"]
    assert response.headers["retry-after"].isdigit()
    assert 1 == len(remote.calls)
    await _assert_nothing_stored()


async def test_slow_endpoint_is_503(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint silent for the whole timeout (10 s; lowered here) is 503, nothing stored."""
    assert 10 == delegation.TIMEOUT_SECONDS
    monkeypatch.setattr(delegation, "TIMEOUT_SECONDS", 0.3)
    started = time.monotonic()
    response = await _create(client, "slow", "Too+late")
    assert time.monotonic() - started < 5
    assert 503 == response.status_code
    assert "temporarily_unavailable" == response.json()["error"]
    await _assert_nothing_stored()


async def test_unreachable_endpoint_is_503(
    settings: Settings, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A closed port is 503, and the token is never logged."""
    caplog.set_level(logging.DEBUG)
    async with delegating(settings, migrated_sqlite, _closed_port_url()) as client:
        response = await _create(client, "s3cret-value", "Down")
        assert 503 == response.status_code
        assert "temporarily_unavailable" == response.json()["error"]
        await _assert_nothing_stored()
    assert "token endpoint" in caplog.text
    assert "s3cret" not in caplog.text


async def test_media_endpoint_is_503_when_the_endpoint_is_down(
    settings: Settings, migrated_sqlite: Path
) -> None:
    """The media endpoint uses the same check: 503 with Retry-After, nothing uploaded."""
    async with delegating(settings, migrated_sqlite, _closed_port_url()) as client:
        response = await client.post(
            "/micropub/media",
            files={"file": ("a.jpg", b"not really", "image/jpeg")},
            headers={"Authorization": "Bearer remote-token"},
        )
        assert 503 == response.status_code
        assert "temporarily_unavailable" == response.json()["error"]
        assert response.headers["retry-after"].isdigit()


async def test_token_is_never_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong, the logs (Hearth's and httpx's) never hold the token."""
    caplog.set_level(logging.DEBUG)
    for mode, status in [("garbage", 503), ("broken", 503), ("elsewhere", 401), ("no-me", 503)]:
        assert status == (await _create(client, f"{mode}.s3cret-value", "x")).status_code
    assert "token endpoint" in caplog.text
    assert "s3cret" not in caplog.text


# The cache ------------------------------------------------------------------------------------


async def test_valid_answer_is_cached_for_two_minutes(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint, clock: list[float]
) -> None:
    """Two requests within the window make one call; after 120 s the endpoint is asked
    again (a revoked token stops working within two minutes)."""
    assert 201 == (await _create(client, "valid-create", "one")).status_code
    clock[0] += 119
    assert 201 == (await _create(client, "valid-create", "two")).status_code
    assert 1 == len(remote.calls)
    clock[0] += 2
    assert 201 == (await _create(client, "valid-create", "three")).status_code
    assert 2 == len(remote.calls)
    assert 3 == await Post.all().count()


async def test_refusal_is_cached_for_a_shorter_time(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint, clock: list[float]
) -> None:
    """A refused token is not asked about again for 15 s, then it is."""
    assert delegation.INVALID_SECONDS < delegation.VALID_SECONDS <= 120
    assert 401 == (await _create(client, "invalid", "one")).status_code
    clock[0] += delegation.INVALID_SECONDS - 1
    assert 401 == (await _create(client, "invalid", "two")).status_code
    assert 1 == len(remote.calls)
    clock[0] += 2
    assert 401 == (await _create(client, "invalid", "three")).status_code
    assert 2 == len(remote.calls)


async def test_unavailable_is_never_cached(
    client: httpx.AsyncClient, remote: FakeTokenEndpoint, clock: list[float]
) -> None:
    """Each request to a broken endpoint asks it again."""
    assert 503 == (await _create(client, "broken", "one")).status_code
    assert 503 == (await _create(client, "broken", "two")).status_code
    assert 2 == len(remote.calls)


def test_cache_is_bounded_and_keeps_recent_entries(clock: list[float]) -> None:
    cache = delegation.AnswerCache(size=2)
    grant = delegation.Grant(me=BASE_URL, client_id=None, scope="create")
    cache.put("a", grant, 60)
    cache.put("b", None, 60)
    assert (True, grant) == cache.get("a")  # "a" is now the most recently used
    cache.put("c", grant, 60)
    assert 2 == len(cache)
    assert (False, None) == cache.get("b")
    assert (True, grant) == cache.get("a")
    clock[0] += 61
    assert (False, None) == cache.get("c")
    assert 0 < len(cache) < 2


# The pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("me", "site", "same"),
    [
        ("https://example.test/", "https://example.test/", True),
        ("https://Example.TEST/someone", "https://example.test/", True),
        ("http://example.test/", "https://example.test/", True),
        ("https://example.test:443/", "https://example.test/", True),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/", True),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8080/", False),
        ("https://example.test:8443/", "https://example.test/", False),
        ("https://evil.example/", "https://example.test/", False),
        ("https://example.test.evil.example/", "https://example.test/", False),
        ("https://user@example.test/", "https://example.test/", False),
        ("ftp://example.test/", "https://example.test/", False),
        ("example.test", "https://example.test/", False),
        ("https://example.test:99999/", "https://example.test/", False),
    ],
)
def test_me_is_on_site(me: str, site: str, same: bool) -> None:
    assert same == delegation.me_is_on_site(me, site)


def test_no_verifier_without_delegation(settings: Settings) -> None:
    """Hearth as its own server keeps the core's token check."""
    assert delegation.delegated_verifier(settings, object()) is None
