"""CSRF on signed-in admin forms: a missing or wrong token is 403 and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hearth.server.core.models import AdminSession, SiteSetting, Token

# A forged form either leaves the token out or guesses one.
FORGED = [{}, {"csrf_token": "wrong-token"}, {"csrf_token": ""}]


async def _token() -> Token:
    return await Token.create(
        token_hash="a" * 64, prefix="abcd1234", me="https://example.test/", scope="create"
    )


@pytest.mark.parametrize("fields", FORGED)
async def test_logout_without_the_csrf_token_is_forbidden(
    client: httpx.AsyncClient, signed_in: str, fields: dict[str, str]
) -> None:
    """A forged sign-out gets 403 and the session survives."""
    response = await client.post("/admin/logout", data=fields)
    assert response.status_code == 403
    assert await AdminSession.all().count() == 1
    assert (await client.get("/admin/")).status_code == 200


@pytest.mark.parametrize("fields", FORGED)
async def test_revoke_without_the_csrf_token_is_forbidden(
    client: httpx.AsyncClient, signed_in: str, fields: dict[str, str]
) -> None:
    """A forged token revocation gets 403 and the token stays valid."""
    token = await _token()
    response = await client.post(f"/admin/tokens/{token.id}/revoke", data=fields)
    assert response.status_code == 403
    await token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("fields", FORGED)
async def test_hcard_edit_without_the_csrf_token_is_forbidden(
    client: httpx.AsyncClient, signed_in: str, fields: dict[str, str]
) -> None:
    """A forged h-card edit gets 403 and nothing is stored."""
    response = await client.post("/admin/hcard", data={**fields, "name": "Mallory"})
    assert response.status_code == 403
    assert await SiteSetting.get_or_none(key="hcard") is None


async def test_another_sessions_token_is_forbidden(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """The token is per session: a token valid for another session does not pass."""
    other = await AdminSession.create(
        id_hash="b" * 64,
        csrf_token="other-session-token",
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    response = await client.post("/admin/logout", data={"csrf_token": other.csrf_token})
    assert response.status_code == 403


async def test_csrf_header_is_accepted(client: httpx.AsyncClient, signed_in: str) -> None:
    """Scripts may send the token as an X-CSRF-Token header instead of a form field."""
    response = await client.post("/admin/logout", headers={"X-CSRF-Token": signed_in})
    assert response.status_code == 303
    assert await AdminSession.all().count() == 0


async def test_signed_out_post_redirects_to_login(client: httpx.AsyncClient, password: str) -> None:
    """An admin POST without a session goes to the sign-in page and does nothing."""
    response = await client.post("/admin/hcard", data={"name": "Mallory"})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert await SiteSetting.get_or_none(key="hcard") is None
