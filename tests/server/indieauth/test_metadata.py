"""Discovery: the metadata document, and the home page's links (GET and HEAD)."""

from __future__ import annotations

from pathlib import Path

import httpx

from hearth.server.core.settings import Settings
from hearth.server.indieauth.indieauth_settings import with_indieauth
from tests.asgi_client import app_client as site_client
from tests.conftest import seed_database


async def test_metadata_document_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "issuer": "https://example.test/",
        "authorization_endpoint": "https://example.test/indieauth/authorize",
        "token_endpoint": "https://example.test/indieauth/token",
        "introspection_endpoint": "https://example.test/indieauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["Bearer"],
        "revocation_endpoint": "https://example.test/indieauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["none"],
        "userinfo_endpoint": "https://example.test/indieauth/userinfo",
        "scopes_supported": [
            "profile", "email", "create", "update", "delete", "undelete", "media", "draft", "read",
        ],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": "https://indieauth.spec.indieweb.org/",
    }  # fmt: skip


async def test_issuer_is_a_prefix_of_the_metadata_url(client: httpx.AsyncClient) -> None:
    issuer = (await client.get("/.well-known/oauth-authorization-server")).json()["issuer"]
    assert "https://example.test/.well-known/oauth-authorization-server".startswith(issuer)


async def test_home_page_advertises_metadata_and_legacy_endpoints(
    client: httpx.AsyncClient,
) -> None:
    for method in ("GET", "HEAD"):
        response = await client.request(method, "/")
        links = response.links
        assert links["indieauth-metadata"]["url"] == (
            "https://example.test/.well-known/oauth-authorization-server"
        ), method
        assert links["authorization_endpoint"]["url"] == "https://example.test/indieauth/authorize"
        assert links["token_endpoint"]["url"] == "https://example.test/indieauth/token"
        assert links["micropub"]["url"] == "https://example.test/micropub"
    html = (await client.get("/")).text
    assert '<link rel="indieauth-metadata" href="https://example.test/.well-known/' in html
    assert '<link rel="authorization_endpoint" href="https://example.test/indieauth/au' in html
    assert '<link rel="token_endpoint" href="https://example.test/indieauth/token">' in html


async def test_delegation_advertises_the_other_server_only(
    settings: Settings, migrated_sqlite: Path
) -> None:
    delegated = with_indieauth(
        settings,
        authorization_endpoint="https://auth.example/auth",
        token_endpoint="https://auth.example/token",
    )
    seed_database(delegated, migrated_sqlite)
    async with site_client(delegated) as client:
        home = await client.head("/")
        metadata = await client.get("/.well-known/oauth-authorization-server")
        html = (await client.get("/")).text
    assert home.links["authorization_endpoint"]["url"] == "https://auth.example/auth"
    assert home.links["token_endpoint"]["url"] == "https://auth.example/token"
    assert "indieauth-metadata" not in home.links
    assert "indieauth-metadata" not in html
    assert '<link rel="token_endpoint" href="https://auth.example/token">' in html
    assert metadata.status_code == 404
