"""The admin's apps list: who has access, and taking it back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from hearth.server.core.models import Token
from hearth.server.indieauth.tables import VisitorSession
from tests.server.admin.admin_helpers import csrf_in
from tests.server.indieauth.conftest import APP
from tests.server.indieauth.flows import TOKEN, tokens


async def _section(owner: httpx.AsyncClient) -> str:
    page = await owner.get("/admin/apps")
    match = re.search(
        r'<section class="admin-section" id="apps"[^>]*>(.*?)</section>', page.text, re.S
    )
    assert match, "no apps section"
    return match.group(1)


async def _refresh(client: httpx.AsyncClient, refresh_token: object) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": str(refresh_token), "client_id": APP}
    return await client.post(TOKEN, data=data)


async def test_an_approved_app_is_listed_with_its_scopes(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    await tokens(owner, app_client)
    section = await _section(owner)
    assert "Example App" in section
    assert 'src="https://app.example/logo.png"' in section
    assert "create media profile update" in section
    assert "never" in section  # not used yet


async def test_revoking_an_app_ends_its_tokens_and_refresh_tokens(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    issued = await tokens(owner, app_client)
    csrf = csrf_in((await owner.get("/admin/apps")).text)
    response = await owner.post("/admin/apps/revoke", data={"csrf_token": csrf, "client_id": APP})
    assert response.status_code == 303
    assert await Token.filter(client_id=APP, revoked_at__isnull=True).count() == 0
    assert (await _refresh(app_client, issued["refresh_token"])).status_code == 400
    assert "No app has access" in await _section(owner)


async def test_revoking_one_token_takes_its_refresh_token_too(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    issued = await tokens(owner, app_client)
    token = await Token.get(client_id=APP)
    csrf = csrf_in((await owner.get("/admin/apps")).text)
    response = await owner.post(f"/admin/apps/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert (await _refresh(app_client, issued["refresh_token"])).status_code == 400


async def test_revoking_needs_the_csrf_token(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    await tokens(owner, app_client)
    response = await owner.post("/admin/apps/revoke", data={"client_id": APP})
    assert response.status_code == 403
    assert await Token.filter(client_id=APP, revoked_at__isnull=True).count() == 1


async def test_recent_visitor_sign_ins_are_listed(owner: httpx.AsyncClient) -> None:
    await VisitorSession.create(
        id_hash="a" * 64,
        me="https://friend.example/",
        name="Friend",
        csrf_token="x",
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    section = await _section(owner)
    assert "Friend" in section
    assert "https://friend.example/" in section
