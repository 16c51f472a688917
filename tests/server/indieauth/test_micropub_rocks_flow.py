"""The micropub.rocks onboarding, step by step as its client takes it: HEAD discovery, no
PKCE, an extra `me` at the token endpoint, an Accept header that prefers JSON.

https://github.com/aaronpk/micropub.rocks (app/Controller.php, new_endpoint and
endpoint_callback).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.server.indieauth.flows import answer, query_of

ROCKS = "https://micropub.rocks/"
CALLBACK = "https://micropub.rocks/endpoints/callback"


async def test_micropub_rocks_gets_a_working_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    me = "https://example.test/"
    head = await app_client.head(me)
    rels = ("authorization_endpoint", "token_endpoint", "micropub")
    endpoints = {rel: head.links[rel]["url"] for rel in rels}
    params = {
        "me": me,
        "redirect_uri": CALLBACK,
        "client_id": ROCKS,
        "state": "rocks-state",
        "scope": "create update delete undelete",
        "response_type": "code",
    }
    page = await owner.get(endpoints["authorization_endpoint"], params=params)
    assert page.status_code == 200
    assert "without PKCE" in page.text
    allowed = await answer(owner, page, "allow")
    returned = query_of(allowed.headers["location"])
    assert returned["state"] == "rocks-state"
    response = await app_client.post(
        endpoints["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "me": me,
            "code": returned["code"],
            "redirect_uri": CALLBACK,
            "client_id": ROCKS,
        },
        headers={"Accept": "application/json, application/x-www-form-urlencoded;q=0.8"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert urlsplit(body["me"]).hostname == "example.test"
    assert body["scope"] == "create delete undelete update"
    created = await app_client.post(
        endpoints["micropub"],
        data={"h": "entry", "content": "Hello from micropub.rocks"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert created.status_code == 201
    page = await app_client.get(created.headers["location"])
    assert "Hello from micropub.rocks" in page.text


async def test_a_verifier_for_a_code_issued_without_pkce_is_refused(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    params = {"redirect_uri": CALLBACK, "client_id": ROCKS, "state": "s", "scope": "create",
              "response_type": "code"}  # fmt: skip
    allowed = await answer(owner, await owner.get("/indieauth/authorize", params=params), "allow")
    code = query_of(allowed.headers["location"])["code"]
    response = await app_client.post(
        "/indieauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
              "client_id": ROCKS, "code_verifier": "a" * 50},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
