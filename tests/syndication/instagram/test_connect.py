"""Connect Instagram from the admin (hearth.syndication.instagram.connect) and "Poll now".

The whole OAuth round trip runs over real HTTP against the fake Instagram: the admin's
redirect, the fake's authorize page (which allows, or cancels, at once), the callback, and
the code and token exchanges Hearth makes from the callback.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.admin import set_password
from hearth.server.core import job_queue
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState, Post, SiteSetting
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account, connect, connection, poll
from hearth.syndication.instagram.fake import LONG_LIVED_SECONDS, FakeInstagram
from hearth.syndication.instagram.silo_settings import with_instagram
from hearth.syndication.instagram.tables import InstagramAccount
from hearth.wiring import job_handlers
from tests.asgi_client import app_client
from tests.server.admin.admin_helpers import PASSWORD, post_login

CALLBACK = "https://example.test/admin/instagram/callback"


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def consent(client: httpx.AsyncClient) -> str:
    """Press Connect Instagram and let the browser visit Instagram: the URL it comes back to."""
    start = await client.get(connect.CONNECT_PATH)
    assert 303 == start.status_code, start.text
    async with httpx.AsyncClient() as browser:  # Instagram is another site: no Hearth cookies
        authorize = await browser.get(start.headers["location"])
    assert 302 == authorize.status_code, authorize.text
    return authorize.headers["location"]


def with_params(url: str, **params: str) -> str:
    """`url` (without fragment) with some query parameters replaced."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return str(httpx.URL(parts._replace(fragment="").geturl(), params=query))


async def back_from_instagram(client: httpx.AsyncClient, url: str) -> httpx.Response:
    """The browser follows Instagram's redirect; the `#_` fragment never reaches the server."""
    assert url.startswith(CALLBACK + "?")
    return await client.get(url.split("#", 1)[0])


async def test_connect_stores_account_with_60_day_token(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram, settings: Settings
) -> None:
    """Allowing on Instagram stores the account, its 60-day token and expiry, and polls."""
    done = await back_from_instagram(client, await consent(client))
    assert 303 == done.status_code, done.text
    assert "/admin/silos?done=instagram#instagram" == done.headers["location"]
    stored = await InstagramAccount.get()
    assert (fake.user_id, fake.username, "ok") == (
        stored.user_id, stored.username, stored.token_state,
    )  # fmt: skip
    # The long-lived one, not the short-lived one; stored encrypted.
    assert fake.token == stored.token(settings) != stored.access_token
    assert stored.token_expires_at is not None
    expected = datetime.now(UTC) + timedelta(seconds=LONG_LIVED_SECONDS)
    assert abs(stored.token_expires_at - expected) < timedelta(minutes=1)
    assert await Job.filter(kind=poll.POLL, state=JobState.QUEUED).exists()


async def test_connected_dashboard_shows_account_and_notice(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """After the redirect the dashboard says so and shows @username with its expiry."""
    done = await back_from_instagram(client, await consent(client))
    dashboard = await client.get(done.headers["location"])
    assert 200 == dashboard.status_code
    assert "Instagram connected." in dashboard.text
    assert f"@{fake.username}" in dashboard.text
    expires = (datetime.now(UTC) + timedelta(seconds=LONG_LIVED_SECONDS)).strftime("%Y-%m-%d")
    assert expires in dashboard.text


async def test_authorize_redirect_carries_app_scopes_and_state(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """The redirect to the (fake) authorize page names the app, callback, scopes and state."""
    start = await client.get(connect.CONNECT_PATH)
    location = urlsplit(start.headers["location"])
    query = parse_qs(location.query)
    assert f"{fake.base}oauth/authorize" == f"{location.scheme}://{location.netloc}/oauth/authorize"
    assert [fake.app_id] == query["client_id"]
    assert [CALLBACK] == query["redirect_uri"]
    assert ["code"] == query["response_type"]
    assert ["instagram_business_basic,instagram_business_manage_comments"] == query["scope"]
    assert len(query["state"][0]) >= 32


def test_authorize_url_is_instagram_for_the_real_api(settings: Settings) -> None:
    """With the default API URL the owner goes to www.instagram.com, not the Graph host."""
    real = with_instagram(settings, api_url="https://graph.instagram.com")
    url = urlsplit(connect.authorize_url(real, "s1"))
    assert ("https", "www.instagram.com", "/oauth/authorize") == (url.scheme, url.netloc, url.path)


async def test_each_connect_gets_a_new_state(client: httpx.AsyncClient, signed_in: str) -> None:
    """Two presses of Connect give two different states."""
    states = set()
    for _ in range(2):
        start = await client.get(connect.CONNECT_PATH)
        states.add(parse_qs(urlsplit(start.headers["location"]).query)["state"][0])
    assert 2 == len(states)


async def test_code_with_fragment_suffix_is_stripped(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A code pasted with Instagram's trailing `#_` (here sent encoded) still works."""
    url = await consent(client)
    code = parse_qs(urlsplit(url).query)["code"][0]
    done = await back_from_instagram(client, with_params(url, code=code + "#_"))
    assert 303 == done.status_code, done.text
    assert await InstagramAccount.exists()


async def test_cancelled_on_instagram_changes_nothing(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """Cancel on Instagram: a clear page, no account, no job."""
    fake.deny_next_authorization = True
    page = await back_from_instagram(client, await consent(client))
    assert 200 == page.status_code
    assert "Instagram not connected" in page.text and "Nothing changed" in page.text
    assert not await InstagramAccount.exists()
    assert not await Job.exists()


@pytest.mark.parametrize("state", ["forged-state", ""])
async def test_wrong_or_missing_state_is_refused(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram, state: str
) -> None:
    """A callback whose state is not the one issued: 400, the code is not even exchanged."""
    url = await consent(client)
    page = await back_from_instagram(client, with_params(url, state=state))
    assert 400 == page.status_code
    assert "not started here" in page.text
    assert not await InstagramAccount.exists()
    assert ("POST", "/oauth/access_token") not in fake.requests


async def test_state_works_once(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """Replaying a finished callback is refused, even with a fresh code."""
    url = await consent(client)
    assert 303 == (await back_from_instagram(client, url)).status_code
    fresh = fake.new_code(CALLBACK)
    replay = await back_from_instagram(client, with_params(url, code=fresh))
    assert 400 == replay.status_code
    assert fresh in fake.codes  # never exchanged


async def test_state_is_bound_to_the_admin_session(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A state issued to one admin session does not work in another one."""
    url = await consent(client)
    await client.post("/admin/logout", data={"csrf_token": signed_in})
    assert 303 == (await post_login(client, PASSWORD)).status_code
    page = await back_from_instagram(client, url)
    assert 400 == page.status_code
    assert not await InstagramAccount.exists()


async def test_stale_state_is_refused(client: httpx.AsyncClient, signed_in: str) -> None:
    """A sign-in left on Instagram for longer than the state lives: 400, nothing stored."""
    url = await consent(client)
    row = await SiteSetting.get(key=connect.STATE_KEY)
    expired = (datetime.now(UTC) - timedelta(seconds=1)).timestamp()
    await SiteSetting.filter(key=connect.STATE_KEY).update(value=row.value | {"expires": expired})
    page = await back_from_instagram(client, url)
    assert 400 == page.status_code
    assert not await InstagramAccount.exists()


async def test_used_code_is_refused_with_what_to_do(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """A code Instagram already took (the fake refuses it): 400 page, start again."""
    first = await consent(client)
    assert 303 == (await back_from_instagram(client, first)).status_code
    await InstagramAccount.all().delete()
    used = parse_qs(urlsplit(first).query)["code"][0]
    page = await back_from_instagram(client, with_params(await consent(client), code=used))
    assert 400 == page.status_code
    assert "Matching code was not found or was already used" in page.text
    assert "Start again" in page.text
    assert not await InstagramAccount.exists()


async def test_bad_code_is_refused(client: httpx.AsyncClient, signed_in: str) -> None:
    """A code Instagram never issued: 400 page naming the redirect URI to check."""
    page = await back_from_instagram(client, with_params(await consent(client), code="AQBnope"))
    assert 400 == page.status_code
    assert CALLBACK in page.text
    assert not await InstagramAccount.exists()


async def test_instagram_failing_after_the_exchange_is_502(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """Instagram fails on /me after the token exchange: 502, try again later, nothing stored."""
    url = await consent(client)
    fake.fail_next(status=500)
    page = await back_from_instagram(client, url)
    assert 502 == page.status_code
    assert "Try again in a few minutes" in page.text
    assert not await InstagramAccount.exists()
    assert fake.token not in page.text


async def test_tokens_and_secret_never_in_a_page(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram
) -> None:
    """Neither the tokens nor the app secret appear in any page of the flow, or after it."""
    pages = [await client.get(connect.CONNECT_PATH)]
    done = await back_from_instagram(client, await consent(client))
    pages += [done, await client.get(done.headers["location"])]
    # With a bad token the dashboard and Poll now show the error and what to do instead.
    await InstagramAccount.all().update(token_state="expired", last_error=account.RECONNECT)
    pages.append(await client.get("/admin/silos"))
    pages.append(await client.post(connect.POLL_PATH, data={"csrf_token": signed_in}))
    stored = await InstagramAccount.get()
    for page in pages:
        text = page.text + str(page.headers)
        assert stored.access_token not in text and fake.token not in text
        assert fake.app_secret not in text


async def test_signed_out_is_sent_to_sign_in_and_nothing_stored(
    client: httpx.AsyncClient, password: str, fake: FakeInstagram
) -> None:
    """Signed out, both connect and callback redirect to sign-in; the code is left unused."""
    start = await client.get(connect.CONNECT_PATH)
    assert (303, "/admin/login") == (start.status_code, start.headers["location"])
    code = fake.new_code(CALLBACK)
    page = await client.get(f"{CALLBACK}?code={code}&state=whatever")
    assert (303, "/admin/login") == (page.status_code, page.headers["location"])
    assert code in fake.codes
    assert not await InstagramAccount.exists()


@pytest.mark.usefixtures("fast_hashing")
async def test_missing_app_settings_say_what_to_set(settings: Settings) -> None:
    """Without the app id, Connect explains what to set (and the callback URI) instead."""
    bare = dataclasses.replace(
        with_instagram(settings, app_id=None), data_dir=settings.data_dir / "bare"
    )
    async with app_client(bare) as client:
        await set_password(PASSWORD)
        assert 303 == (await post_login(client, PASSWORD)).status_code
        page = await client.get(connect.CONNECT_PATH)
    text = " ".join(page.text.split())
    assert 200 == page.status_code
    assert "Not set yet: <code>HEARTH_INSTAGRAM_APP_ID</code>." in text  # the secret is set
    assert CALLBACK in text and "README" in text


# Poll now ----------------------------------------------------------------------------------


async def stored_account(**extra: str) -> InstagramAccount:
    return await InstagramAccount.create(
        user_id="17841400000000001", username="hearth_owner", access_token="IGAAx", **extra
    )


async def test_poll_now_queues_one_poll(client: httpx.AsyncClient, signed_in: str) -> None:
    """Poll now queues exactly one instagram.poll, due now, and says so on the dashboard."""
    await stored_account()
    response = await client.post(connect.POLL_PATH, data={"csrf_token": signed_in})
    assert (303, "/admin/silos?done=instagram_poll#instagram") == (
        response.status_code, response.headers["location"],
    )  # fmt: skip
    queued = await Job.filter(kind=poll.POLL)
    assert 1 == len(queued)
    assert queued[0].run_at <= datetime.now(UTC)
    assert "Poll queued" in (await client.get(response.headers["location"])).text


async def test_poll_now_needs_csrf(client: httpx.AsyncClient, signed_in: str) -> None:
    """Without the session's CSRF token: 403 and no job."""
    await stored_account()
    response = await client.post(connect.POLL_PATH, data={"csrf_token": "forged"})
    assert 403 == response.status_code
    assert not await Job.filter(kind=poll.POLL).exists()


async def test_poll_now_without_account(client: httpx.AsyncClient, signed_in: str) -> None:
    """No account connected: a page saying so, no job."""
    response = await client.post(connect.POLL_PATH, data={"csrf_token": signed_in})
    assert 409 == response.status_code
    assert "No Instagram account is connected" in response.text
    assert not await Job.exists()


async def test_poll_now_with_bad_token(client: httpx.AsyncClient, signed_in: str) -> None:
    """A revoked token: the page says what to do (reconnect), no job."""
    await stored_account(token_state="revoked", last_error="Revoked. " + account.RECONNECT)
    response = await client.post(connect.POLL_PATH, data={"csrf_token": signed_in})
    assert 409 == response.status_code
    assert "revoked" in response.text and "Reconnect Instagram" in response.text
    assert not await Job.exists()


async def test_dashboard_offers_connect_and_poll(client: httpx.AsyncClient, signed_in: str) -> None:
    """No account: Connect link and the CLI; a bad token: Reconnect link and Poll now."""
    page = (await client.get("/admin/silos")).text
    assert 'href="/admin/instagram/connect">Connect Instagram' in page
    assert "hearth instagram connect --access-token TOKEN" in page
    await stored_account(token_state="expired", last_error=account.RECONNECT)
    page = (await client.get("/admin/silos")).text
    assert 'href="/admin/instagram/connect">Reconnect Instagram' in page
    assert 'action="/admin/instagram/poll"' in page


# Reviving the work that died of the token ------------------------------------------------


async def run_due_jobs(settings: Settings, http: httpx.AsyncClient) -> None:
    worker = Worker(settings, job_handlers(), http=http)
    for _ in range(50):
        if not await worker.run_once():
            return
    raise AssertionError("jobs kept coming")


async def test_reconnect_revives_jobs_that_died_of_the_token(
    client: httpx.AsyncClient, signed_in: str, fake: FakeInstagram, settings: Settings,
    http: httpx.AsyncClient,
) -> None:  # fmt: skip
    """Token expires, the poll dies; reconnecting in the admin queues it again, and the
    media posted meanwhile is copied once. A job dead for another reason stays dead."""
    await connection.connect(settings, http, fake.token)
    fake.expire_token()
    other = await job_queue.enqueue("instagram.no_such_kind", {}, key="other")
    media_id = fake.add_media("IMAGE", caption="While the token was dead")
    await run_due_jobs(settings, http)
    died = await Job.get(kind=poll.POLL, state=JobState.DEAD)
    assert account.RECONNECT_MARKER in (died.last_error or "")

    assert 303 == (await back_from_instagram(client, await consent(client))).status_code
    revived = await Job.get(id=died.id)
    assert (JobState.QUEUED, 0) == (revived.state, revived.attempts)
    assert JobState.DEAD == (await Job.get(id=other.id)).state

    await run_due_jobs(settings, http)
    assert JobState.DONE == (await Job.get(id=died.id)).state
    assert 1 == await Post.filter(instagram_media__media_id=media_id).count()


async def test_bad_token_failure_always_carries_the_marker(app: Starlette) -> None:
    """Even when a rate-limit note overwrote the account's error, the job's failure text
    holds the marker, so a reconnect revives that job."""
    await stored_account(token_state="expired", last_error="Instagram usage at 95%: pausing")
    with pytest.raises(job_queue.PermanentFailure, match=account.RECONNECT_MARKER):
        await account.active_account()
