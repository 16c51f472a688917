"""Steps of the authorization code flow, as a client and the owner's browser take them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx

from hearth.server.indieauth import pkce
from tests.server.indieauth.conftest import APP, APP_CALLBACK

AUTHORIZE = "/indieauth/authorize"
TOKEN = "/indieauth/token"
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_CHECKBOX = re.compile(r'<input type="checkbox" name="scope" value="([^"]+)" checked>')


@dataclass(frozen=True)
class Request:
    """An authorization request's parameters, and the verifier the client keeps."""

    client_id: str = APP
    redirect_uri: str = APP_CALLBACK
    scope: str = "create update media profile"
    state: str = "st4te-xyz"
    verifier: str | None = pkce.new_verifier()

    def params(self, **changes: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "scope": self.scope,
            "me": "https://example.test/",
        }
        if self.verifier is not None:
            params["code_challenge"] = pkce.s256_challenge(self.verifier)
            params["code_challenge_method"] = "S256"
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent_form(html: str) -> tuple[dict[str, str], list[str]]:
    """The consent form's hidden fields and its checked scopes."""
    hidden = {name: unescape(value) for name, value in _HIDDEN.findall(html)}
    return hidden, _CHECKBOX.findall(html)


async def answer(
    owner: httpx.AsyncClient, page: httpx.Response, decision: str, scopes: list[str] | None = None
) -> httpx.Response:
    hidden, checked = consent_form(page.text)
    data: dict[str, str | list[str]] = {**hidden, "decision": decision}
    data["scope"] = checked if scopes is None else scopes
    return await owner.post(AUTHORIZE, data=data)


async def approve(
    owner: httpx.AsyncClient, request: Request = Request(), scopes: list[str] | None = None
) -> str:
    """The owner approves `request`; the code the client receives."""
    page = await owner.get(AUTHORIZE, params=request.params())
    assert page.status_code == 200, page.text
    response = await answer(owner, page, "allow", scopes)
    assert response.status_code == 303, response.text
    returned = query_of(response.headers["location"])
    assert returned["state"] == request.state
    return returned["code"]


async def exchange(
    client: httpx.AsyncClient, code: str, request: Request = Request(), **changes: str | None
) -> httpx.Response:
    data: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": request.client_id,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.verifier,
    }
    data.update(changes)
    return await client.post(TOKEN, data={k: v for k, v in data.items() if v is not None})


async def tokens(
    owner: httpx.AsyncClient, client: httpx.AsyncClient, request: Request = Request()
) -> dict[str, object]:
    """Approve and exchange: the token endpoint's answer."""
    response = await exchange(client, await approve(owner, request), request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body
