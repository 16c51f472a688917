"""Public pages' security headers (issue 13, hole 8): a CSP that fits them (the site's own
stylesheet, images from anywhere, no script, forms to the site only, no framing), nosniff
and a referrer policy; feeds are not sniffed either."""

from __future__ import annotations

import httpx
import pytest

from hearth.server.core.web import PUBLIC_POLICY

PAGES = ["/", "/tags", "/signin", "/no-such-page", "/2026/01/nothing-here"]


def directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", PAGES)
async def test_public_pages_send_a_content_security_policy(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    found = directives(response.headers["content-security-policy"])
    assert found["default-src"] == "default-src 'none'"
    assert found["style-src"] == "style-src 'self'"
    assert found["img-src"] == "img-src 'self' https: data:"
    assert found["frame-ancestors"] == "frame-ancestors 'none'"
    assert found["base-uri"] == "base-uri 'none'"
    assert "script-src" not in found
    assert found["form-action"].startswith("form-action 'self'")


@pytest.mark.parametrize("path", PAGES)
async def test_public_pages_are_not_sniffed_framed_or_leak_referrers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"


async def test_error_pages_send_them_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-security-policy"] == PUBLIC_POLICY


async def test_only_the_visitor_sign_in_form_may_lead_elsewhere(client: httpx.AsyncClient) -> None:
    """Its answer redirects to the visitor's own authorization endpoint, which browsers check
    against form-action; every other page's forms post to the site only."""
    signin = directives((await client.get("/signin")).headers["content-security-policy"])
    assert signin["form-action"] == "form-action 'self' https: http:"
    home = directives((await client.get("/")).headers["content-security-policy"])
    assert home["form-action"] == "form-action 'self'"


@pytest.mark.parametrize("path", ["/feed.atom", "/feed.rss", "/feed.json"])
async def test_feeds_are_not_sniffed(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
