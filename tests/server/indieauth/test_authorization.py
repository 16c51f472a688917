"""The authorization endpoint: checks, sign-in first, the consent page, Allow and Deny."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from hearth.app import create_app
from hearth.server.admin import set_password
from hearth.server.core.settings import Settings
from tests.conftest import BASE_URL, seed_database
from tests.server.admin.admin_helpers import PASSWORD, post_login
from tests.server.indieauth.conftest import (
    APP_ELSEWHERE,
    BARE,
    OLD_APP,
    OLD_APP_ELSEWHERE,
    FakeApps,
)
from tests.server.indieauth.flows import AUTHORIZE, Request, answer, consent_form, query_of

ISS = "https://example.test/"


async def test_signed_out_owner_signs_in_then_returns_to_the_consent_page(
    browser: httpx.AsyncClient, owner: httpx.AsyncClient
) -> None:
    browser.cookies.clear()  # the owner's session is gone
    response = await browser.get(AUTHORIZE, params=Request().params())
    assert response.status_code == 303
    login = response.headers["location"]
    assert login.startswith("/admin/login?next=")
    form = await browser.get(login)
    assert 'name="next" value="/indieauth/authorize?' in form.text
    hidden, _ = consent_form(form.text)
    signed = await browser.post(
        "/admin/login",
        data={"csrf_token": hidden["csrf_token"], "password": PASSWORD, "next": hidden["next"]},
    )
    assert signed.status_code == 303
    consent = await browser.get(signed.headers["location"])
    assert consent.status_code == 200
    assert "Allow Example App?" in consent.text


async def test_consent_page_names_the_app_its_return_host_and_scopes(
    owner: httpx.AsyncClient,
) -> None:
    page = await owner.get(AUTHORIZE, params=Request().params())
    assert page.status_code == 200
    assert "Example App" in page.text
    assert 'src="https://app.example/logo.png"' in page.text
    assert "<strong>app.example</strong>" in page.text
    _, checked = consent_form(page.text)
    assert ["create", "update", "media", "profile"] == checked
    assert "90 days" in page.text
    assert '<button type="submit" name="decision" value="allow">Allow</button>' in page.text
    assert '<button type="submit" name="decision" value="deny">Deny</button>' in page.text
    assert "without PKCE" not in page.text
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self' https://app.example" in policy
    assert page.headers["x-frame-options"] == "DENY"


async def test_an_h_app_client_is_named_and_its_rel_redirect_uri_accepted(
    owner: httpx.AsyncClient,
) -> None:
    request = Request(client_id=OLD_APP, redirect_uri=OLD_APP_ELSEWHERE)
    page = await owner.get(AUTHORIZE, params=request.params())
    assert page.status_code == 200, page.text
    assert "Allow Old App?" in page.text
    assert 'src="https://oldapp.example/icon.png"' in page.text


async def test_a_client_that_says_nothing_is_named_by_its_url(owner: httpx.AsyncClient) -> None:
    page = await owner.get(
        AUTHORIZE, params=Request(client_id=BARE, redirect_uri=BARE + "cb").params()
    )
    assert page.status_code == 200
    assert "Allow bare.example?" in page.text


async def test_old_clients_without_pkce_are_served_and_the_owner_told(
    owner: httpx.AsyncClient,
) -> None:
    page = await owner.get(AUTHORIZE, params=Request(verifier=None).params())
    assert page.status_code == 200
    assert "without PKCE" in page.text


async def test_unlisted_redirect_uri_on_another_host_is_refused_on_a_page(
    owner: httpx.AsyncClient,
) -> None:
    request = Request(redirect_uri="https://evil.example/steal")
    page = await owner.get(AUTHORIZE, params=request.params())
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "evil.example/steal" in page.text
    assert 'value="allow"' not in page.text


async def test_redirect_uri_on_another_port_of_the_client_host_must_be_listed(
    owner: httpx.AsyncClient,
) -> None:
    page = await owner.get(
        AUTHORIZE, params=Request(redirect_uri="https://app.example:8443/cb").params()
    )
    assert page.status_code == 400
    assert 'value="allow"' not in page.text


async def test_listed_redirect_uri_on_another_host_is_accepted(owner: httpx.AsyncClient) -> None:
    page = await owner.get(AUTHORIZE, params=Request(redirect_uri=APP_ELSEWHERE).params())
    assert page.status_code == 200
    assert "login.app-cdn.example" in page.text


async def test_invalid_client_id_is_refused_on_a_page(owner: httpx.AsyncClient) -> None:
    for client_id in ("", "app.example", "https://app.example/#x", "ftp://app.example/"):
        page = await owner.get(AUTHORIZE, params=Request(client_id=client_id).params())
        assert page.status_code == 400, client_id
        assert "location" not in page.headers


async def _error_redirect(owner: httpx.AsyncClient, **changes: str | None) -> dict[str, str]:
    response = await owner.get(AUTHORIZE, params=Request().params(**changes))
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("https://app.example/callback?")
    return query_of(location)


async def test_plain_pkce_is_refused_back_to_the_client(owner: httpx.AsyncClient) -> None:
    returned = await _error_redirect(owner, code_challenge_method="plain")
    assert returned["error"] == "invalid_request"
    assert returned["state"] == "st4te-xyz"
    assert returned["iss"] == ISS
    assert "code" not in returned


async def test_wrong_response_type_is_unsupported(owner: httpx.AsyncClient) -> None:
    returned = await _error_redirect(owner, response_type="token")
    assert returned["error"] == "unsupported_response_type"
    assert returned["iss"] == ISS


async def test_missing_state_is_invalid_request(owner: httpx.AsyncClient) -> None:
    returned = await _error_redirect(owner, state=None)
    assert returned["error"] == "invalid_request"
    assert "state" not in returned


async def test_allow_sends_code_state_and_iss(owner: httpx.AsyncClient) -> None:
    page = await owner.get(AUTHORIZE, params=Request().params())
    response = await answer(owner, page, "allow")
    assert response.status_code == 303
    location = response.headers["location"]
    assert urlsplit(location)[:3] == ("https", "app.example", "/callback")
    returned = query_of(location)
    assert set(returned) == {"code", "state", "iss"}
    assert returned["state"] == "st4te-xyz"
    assert returned["iss"] == ISS
    assert len(returned["code"]) >= 40


async def test_deny_sends_access_denied_with_state_and_iss(owner: httpx.AsyncClient) -> None:
    page = await owner.get(AUTHORIZE, params=Request().params())
    response = await answer(owner, page, "deny")
    returned = query_of(response.headers["location"])
    assert returned["error"] == "access_denied"
    assert returned["state"] == "st4te-xyz"
    assert returned["iss"] == ISS
    assert "code" not in returned


async def test_approval_without_the_csrf_token_is_forbidden(owner: httpx.AsyncClient) -> None:
    page = await owner.get(AUTHORIZE, params=Request().params())
    hidden, checked = consent_form(page.text)
    del hidden["csrf_token"]
    response = await owner.post(AUTHORIZE, data={**hidden, "decision": "allow", "scope": checked})
    assert response.status_code == 403
    assert "location" not in response.headers


async def test_a_loopback_client_id_is_not_fetched_by_default(
    settings: Settings, apps: FakeApps, migrated_sqlite: Path, fast_hashing: None
) -> None:
    """Without HEARTH_ALLOW_PRIVATE_NETWORKS, Hearth never fetches 127.0.0.1 (IndieAuth §4.2)."""
    seed_database(settings, migrated_sqlite)
    app = create_app(settings, http_transport=httpx.MockTransport(apps.handle))
    request = Request(client_id="http://127.0.0.1:9999/", redirect_uri="http://127.0.0.1:9999/cb")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as owner:
            await set_password(PASSWORD)
            await post_login(owner, PASSWORD)
            page = await owner.get(AUTHORIZE, params=request.params())
    assert page.status_code == 200
    assert apps.fetched == []
    assert "Allow 127.0.0.1:9999?" in page.text


async def test_a_signed_out_request_fetches_nothing(
    browser: httpx.AsyncClient, apps: FakeApps
) -> None:
    """Until the owner signs in, the client_id is not fetched: strangers cannot make the
    site fetch the URLs they name."""
    response = await browser.get(AUTHORIZE, params=Request().params())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")
    assert apps.fetched == []
