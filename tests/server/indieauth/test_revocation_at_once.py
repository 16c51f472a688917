"""A token in use stops working the moment it is revoked, whoever revokes it and how.

Live tokens are kept in memory between requests (issue #14); each test here uses the token
first, so that it is kept, then revokes it one way and expects the very next request refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from hearth.server.core.models import Token
from tests.server.admin.admin_helpers import csrf_in
from tests.server.indieauth.conftest import APP
from tests.server.indieauth.flows import TOKEN, tokens

Revocation = Callable[[httpx.AsyncClient, httpx.AsyncClient, dict[str, object]], Awaitable[None]]


async def _config(client: httpx.AsyncClient, access_token: object) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return (await client.get("/micropub", params={"q": "config"}, headers=headers)).status_code


async def _at_revocation_endpoint(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    await app.post("/indieauth/revoke", data={"token": issued["access_token"]})


async def _its_refresh_token_revoked(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    await app.post("/indieauth/revoke", data={"token": issued["refresh_token"]})


async def _legacy_revoke_action(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    await app.post(TOKEN, data={"action": "revoke", "token": issued["access_token"]})


def _refresh_form(refresh_token: object) -> dict[str, object]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": APP}


async def _refreshed(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    """Refreshing retires the access token it renews."""
    response = await app.post(TOKEN, data=_refresh_form(issued["refresh_token"]))
    assert response.status_code == 200


async def _refresh_replayed(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    """A rotated-out refresh token presented again revokes the renewed access token."""
    renewed = (await app.post(TOKEN, data=_refresh_form(issued["refresh_token"]))).json()
    assert await _config(app, renewed["access_token"]) == 200
    assert await _config(app, renewed["access_token"]) == 200
    await app.post(TOKEN, data=_refresh_form(issued["refresh_token"]))  # a thief's copy
    issued["access_token"] = renewed["access_token"]


async def _as_owner(owner: httpx.AsyncClient, path: str, **data: str) -> None:
    """The owner's form in the admin, sent with its CSRF token."""
    csrf = csrf_in((await owner.get("/admin/apps")).text)
    assert (await owner.post(path, data={"csrf_token": csrf, **data})).status_code == 303


async def _admin_token_list(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    token = await Token.get(client_id=APP, revoked_at=None)
    await _as_owner(owner, f"/admin/tokens/{token.id}/revoke")


async def _admin_app_token(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    token = await Token.get(client_id=APP, revoked_at=None)
    await _as_owner(owner, f"/admin/apps/tokens/{token.id}/revoke")


async def _admin_whole_app(
    owner: httpx.AsyncClient, app: httpx.AsyncClient, issued: dict[str, object]
) -> None:
    await _as_owner(owner, "/admin/apps/revoke", client_id=APP)


@pytest.mark.parametrize(
    "revoke",
    [
        _at_revocation_endpoint,
        _its_refresh_token_revoked,
        _legacy_revoke_action,
        _refreshed,
        _refresh_replayed,
        _admin_token_list,
        _admin_app_token,
        _admin_whole_app,
    ],
)
async def test_a_token_in_use_is_refused_right_after_its_revocation(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient, revoke: Revocation
) -> None:
    issued = await tokens(owner, app_client)
    assert await _config(app_client, issued["access_token"]) == 200
    assert await _config(app_client, issued["access_token"]) == 200  # now kept
    await revoke(owner, app_client, issued)
    assert await _config(app_client, issued["access_token"]) == 401


async def test_revoking_one_app_token_keeps_another_working(
    owner: httpx.AsyncClient, app_client: httpx.AsyncClient
) -> None:
    first = await tokens(owner, app_client)
    second = await tokens(owner, app_client)
    assert await _config(app_client, first["access_token"]) == 200
    assert await _config(app_client, second["access_token"]) == 200
    await _at_revocation_endpoint(owner, app_client, first)
    assert await _config(app_client, first["access_token"]) == 401
    assert await _config(app_client, second["access_token"]) == 200
