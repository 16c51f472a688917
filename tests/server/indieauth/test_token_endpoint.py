"""The token endpoint: codes for tokens, PKCE, replays, refresh rotation, and what a token
then does at the Micropub endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from hearth.server.core.models import Post, Token
from hearth.server.indieauth.tables import AuthorizationCode, RefreshToken
from tests.server.admin.admin_helpers import csrf_in
from tests.server.indieauth.conftest import APP, APP_CALLBACK
from tests.server.indieauth.flows import TOKEN, Request, approve, exchange, tokens

INTROSPECT = "/indieauth/introspect"


async def _create(client: httpx.AsyncClient, token: str, content: str) -> httpx.Response:
    return await client.post(
        "/micropub",
        data={"h": "entry", "content": content},
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_code_exchange_gives_a_working_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    body = await tokens(owner, app_client)
    assert body["token_type"] == "Bearer"
    assert body["me"] == "https://example.test/"
    assert body["scope"] == "create media profile update"
    assert body["expires_in"] == 90 * 86400
    assert isinstance(body["refresh_token"], str)
    assert body["profile"] == {
        "name": "Alice Example",
        "url": "https://example.test/",
        "photo": "https://example.test/alice.jpg",
    }
    created = await _create(app_client, str(body["access_token"]), "Posted from an app")
    assert created.status_code == 201, created.text
    post = await Post.get(path=created.headers["location"].removeprefix("https://example.test/"))
    assert post.properties["content"] == ["Posted from an app"]
    assert post.client_id == APP


async def test_tokens_and_codes_are_stored_hashed(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    code = await approve(owner)
    stored = await AuthorizationCode.get()
    assert code not in (stored.code_hash, stored.client_id)
    body = (await exchange(app_client, code)).json()
    token = await Token.get(client_id=APP)
    refresh = await RefreshToken.get()
    assert body["access_token"] != token.token_hash
    assert body["refresh_token"] != refresh.token_hash
    assert len(token.token_hash) == len(refresh.token_hash) == 64


async def test_owner_can_narrow_the_scopes(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    request = Request()
    code = await approve(owner, request, scopes=["create"])
    body = (await exchange(app_client, code, request)).json()
    assert body["scope"] == "create"
    assert "profile" not in body
    refused = await app_client.post(
        "/micropub",
        data={"action": "delete", "url": "https://example.test/x"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert refused.status_code in (401, 403)
    assert refused.json()["error"] == "insufficient_scope"


async def test_pkce_verifier_mismatch_is_invalid_grant(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    code = await approve(owner)
    response = await exchange(app_client, code, code_verifier="x" * 64)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert await Token.filter(client_id=APP).count() == 0


async def test_missing_verifier_for_a_code_with_a_challenge_is_invalid_grant(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    code = await approve(owner)
    response = await exchange(app_client, code, code_verifier=None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_wrong_verifier_spends_the_code(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    """A thief guessing verifiers gets one try; the real client then learns of it too."""
    code = await approve(owner)
    await exchange(app_client, code, code_verifier="y" * 64)
    again = await exchange(app_client, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_code_replay_fails_and_revokes_what_it_issued(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    request = Request()
    code = await approve(owner, request)
    first = (await exchange(app_client, code, request)).json()
    replay = await exchange(app_client, code, request)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    created = await _create(app_client, str(first["access_token"]), "after the replay")
    assert created.status_code == 401
    refreshed = await app_client.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
              "client_id": APP},
    )  # fmt: skip
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_wrong_redirect_uri_at_redemption_is_invalid_grant(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    code = await approve(owner)
    response = await exchange(app_client, code, redirect_uri=APP_CALLBACK + "2")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_wrong_client_id_at_redemption_is_invalid_grant(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    code = await approve(owner)
    response = await exchange(app_client, code, client_id="https://other.example/")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_client_id_spelled_without_the_slash_still_matches(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    request = Request(client_id="https://APP.example")
    code = await approve(owner, request)
    response = await exchange(app_client, code, request)
    assert response.status_code == 200, response.text


async def test_an_expired_code_is_invalid_grant(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    code = await approve(owner)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await AuthorizationCode.all().update(expires_at=past)
    response = await exchange(app_client, code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_without_scopes_gets_no_token_but_signs_in(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    request = Request(scope="")
    at_token_endpoint = await exchange(app_client, await approve(owner, request), request)
    assert at_token_endpoint.status_code == 400
    assert at_token_endpoint.json()["error"] == "invalid_grant"
    assert await Token.filter(client_id=APP).count() == 0
    data = {
        "grant_type": "authorization_code",
        "code": await approve(owner, request),
        "client_id": APP,
        "redirect_uri": APP_CALLBACK,
        "code_verifier": request.verifier,
    }
    signed_in = await app_client.post("/indieauth/authorize", data=data)
    assert signed_in.status_code == 200
    assert signed_in.json() == {"me": "https://example.test/"}


async def test_profile_redemption_at_the_authorization_endpoint(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    request = Request(scope="profile")
    data = {
        "grant_type": "authorization_code",
        "code": await approve(owner, request),
        "client_id": APP,
        "redirect_uri": APP_CALLBACK,
        "code_verifier": request.verifier,
    }
    response = await app_client.post("/indieauth/authorize", data=data)
    assert response.json() == {
        "me": "https://example.test/",
        "profile": {
            "name": "Alice Example",
            "url": "https://example.test/",
            "photo": "https://example.test/alice.jpg",
        },
    }
    replay = await app_client.post("/indieauth/authorize", data=data)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


async def _refresh(
    client: httpx.AsyncClient, refresh_token: object, **extra: str
) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": str(refresh_token), "client_id": APP}
    return await client.post(TOKEN, data={**data, **extra})


async def test_refresh_rotates_and_the_old_refresh_token_stops_working(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    second = await _refresh(app_client, first["refresh_token"])
    assert second.status_code == 200, second.text
    renewed = second.json()
    assert renewed["scope"] == first["scope"]
    assert renewed["refresh_token"] != first["refresh_token"]
    created = await _create(app_client, renewed["access_token"], "with the renewed token")
    assert created.status_code == 201
    again = await _refresh(app_client, first["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_reusing_a_rotated_out_refresh_token_revokes_the_chain(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    renewed = (await _refresh(app_client, first["refresh_token"])).json()
    await _refresh(app_client, first["refresh_token"])  # a thief's copy
    assert (await _create(app_client, renewed["access_token"], "x")).status_code == 401
    assert (await _refresh(app_client, renewed["refresh_token"])).status_code == 400


async def test_refresh_may_narrow_the_scope_but_not_widen_it(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    wider = await _refresh(app_client, first["refresh_token"], scope="create delete")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    narrower = await _refresh(app_client, first["refresh_token"], scope="create")
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "create"
    # The new refresh token keeps what was granted (RFC 6749 §6).
    full = await _refresh(app_client, narrower.json()["refresh_token"])
    assert full.json()["scope"] == "create media profile update"


async def test_refresh_for_another_client_is_invalid_grant(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    response = await _refresh(app_client, first["refresh_token"], client_id="https://x.example/")
    assert response.json()["error"] == "invalid_grant"


async def test_introspection_requires_a_bearer_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    anonymous = await app_client.post(INTROSPECT, data={"token": first["access_token"]})
    assert anonymous.status_code == 401
    assert "www-authenticate" in anonymous.headers
    assert "active" not in anonymous.text
    forged = await app_client.post(
        INTROSPECT, data={"token": first["access_token"]}, headers={"Authorization": "Bearer nope"}
    )
    assert forged.status_code == 401


async def test_introspection_describes_a_live_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    response = await app_client.post(
        INTROSPECT, data={"token": first["access_token"]}, headers=auth
    )
    body = response.json()
    assert body["active"] is True
    assert body["me"] == "https://example.test/"
    assert body["client_id"] == APP
    assert body["scope"] == "create media profile update"
    assert body["exp"] - body["iat"] == 90 * 86400


async def test_introspection_of_unknown_or_revoked_tokens_says_only_inactive(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    second = await tokens(owner, app_client)
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    unknown = await app_client.post(INTROSPECT, data={"token": "made-up"}, headers=auth)
    assert unknown.status_code == 200
    assert unknown.json() == {"active": False}
    await app_client.post("/indieauth/revoke", data={"token": second["access_token"]})
    revoked = await app_client.post(
        INTROSPECT, data={"token": second["access_token"]}, headers=auth
    )
    assert revoked.json() == {"active": False}


async def test_revocation_answers_200_whatever_the_token(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post("/indieauth/revoke", data={"token": "never-issued"})
    assert response.status_code == 200


async def test_revoking_a_refresh_token_ends_its_access_token_too(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    await app_client.post("/indieauth/revoke", data={"token": first["refresh_token"]})
    assert (await _create(app_client, str(first["access_token"]), "x")).status_code == 401
    assert (await _refresh(app_client, first["refresh_token"])).status_code == 400


async def test_legacy_verification_and_revocation(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    auth = {"Authorization": f"Bearer {first['access_token']}", "Accept": "application/json"}
    verified = await app_client.get(TOKEN, headers=auth)
    assert verified.json() == {
        "me": "https://example.test/",
        "client_id": APP,
        "scope": "create media profile update",
    }
    revoked = await app_client.post(
        TOKEN, data={"action": "revoke", "token": first["access_token"]}
    )
    assert revoked.status_code == 200
    after = await app_client.get(TOKEN, headers=auth)
    assert after.status_code == 401


async def test_userinfo_needs_the_profile_scope(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    with_profile = await tokens(owner, app_client)
    info = await app_client.get(
        "/indieauth/userinfo", headers={"Authorization": f"Bearer {with_profile['access_token']}"}
    )
    assert info.json()["name"] == "Alice Example"
    request = Request(scope="create")
    without = await tokens(owner, app_client, request)
    refused = await app_client.get(
        "/indieauth/userinfo", headers={"Authorization": f"Bearer {without['access_token']}"}
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    anonymous = await app_client.get("/indieauth/userinfo")
    assert anonymous.status_code == 401


async def test_unknown_and_missing_grant_types(app_client: httpx.AsyncClient) -> None:
    unknown = await app_client.post(TOKEN, data={"grant_type": "password"})
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unsupported_grant_type"
    missing = await app_client.post(TOKEN, data={"code": "x"})
    assert missing.json()["error"] == "invalid_request"
    incomplete = await app_client.post(TOKEN, data={"grant_type": "authorization_code"})
    assert incomplete.json()["error"] == "invalid_request"


async def test_an_oversized_body_is_refused(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post(TOKEN, data={"grant_type": "x" * 20_000})
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


async def test_the_token_endpoint_is_rate_limited(app_client: httpx.AsyncClient) -> None:
    statuses = [
        (await app_client.post(TOKEN, data={"grant_type": "authorization_code", "code": "x"}))
        for _ in range(70)
    ]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, "no request was limited"
    assert int(limited[0].headers["retry-after"]) >= 1
    assert all(r.status_code == 400 for r in statuses[:60])


async def test_introspection_does_not_count_as_a_use_of_either_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    """The admin's "last used" shows the app's own requests, not a resource server's checks."""
    first = await tokens(owner, app_client)
    second = await tokens(owner, app_client)
    auth = {"Authorization": f"Bearer {first['access_token']}"}
    await app_client.post(INTROSPECT, data={"token": second["access_token"]}, headers=auth)
    assert await Token.filter(client_id=APP, last_used_at__isnull=False).count() == 0


async def test_a_token_revoked_in_the_admin_list_cannot_be_refreshed_back(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    """The admin's Tokens list revokes the access token only; its refresh token then fails."""
    first = await tokens(owner, app_client)
    token = await Token.get(client_id=APP)
    csrf = csrf_in((await owner.get("/admin/apps")).text)
    revoked = await owner.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    refreshed = await _refresh(app_client, first["refresh_token"])
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    assert await Token.filter(client_id=APP, revoked_at__isnull=True).count() == 0


async def test_revoking_an_access_token_ends_its_refresh_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    await app_client.post("/indieauth/revoke", data={"token": first["access_token"]})
    assert (await _refresh(app_client, first["refresh_token"])).status_code == 400
