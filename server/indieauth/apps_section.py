"""The admin's view of IndieAuth: apps with access (revocable), and recent visitor sign-ins.

An app's access is its live access tokens and the refresh tokens that renew them; revoking
either way takes both, or the app would simply refresh its way back in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.server.admin import redirect, require_admin
from hearth.server.core.features import AdminSection
from hearth.server.core.models import AdminSession, Token
from hearth.server.indieauth import grants
from hearth.server.indieauth.tables import ClientApp, VisitorSession

__all__ = ["NOTICES", "SECTION", "routes"]

RECENT_SIGNINS = 20
NOTICES = {
    "app_revoked": "The app's access is revoked: its tokens no longer work.",
    "app_token_revoked": "Token revoked, with the refresh token that renewed it.",
}


@dataclass(frozen=True)
class AppAccess:
    client_id: str
    name: str
    logo: str | None
    tokens: list[Token]


async def _live_tokens(now: datetime) -> list[Token]:
    rows = await Token.filter(revoked_at__isnull=True).order_by("-created_at")
    return [row for row in rows if row.expires_at is None or row.expires_at > now]


async def load(request: Request, session: AdminSession) -> Mapping[str, Any]:
    now = datetime.now(UTC)
    by_client: dict[str, list[Token]] = {}
    for token in await _live_tokens(now):
        if token.client_id:
            by_client.setdefault(token.client_id, []).append(token)
    known = {app.client_id: app for app in await ClientApp.filter(client_id__in=list(by_client))}
    apps = [
        AppAccess(
            client_id=client_id,
            name=(known[client_id].name if client_id in known else None) or client_id,
            logo=known[client_id].logo if client_id in known else None,
            tokens=tokens,
        )
        for client_id, tokens in sorted(by_client.items())
    ]
    signins = await VisitorSession.all().order_by("-created_at").limit(RECENT_SIGNINS)
    return {"apps": apps, "signins": signins, "now": now}


@require_admin
async def revoke_app(request: Request, session: AdminSession) -> Response:
    """Revoke every token of one app, and the refresh tokens of its grants."""
    form = await request.form()
    client_id = form.get("client_id")
    if isinstance(client_id, str) and client_id:
        await grants.revoke_client(client_id)
    return redirect("/admin/apps?done=app_revoked#apps")


@require_admin
async def revoke_app_token(request: Request, session: AdminSession) -> Response:
    await grants.revoke_access([request.path_params["token_id"]])
    return redirect("/admin/apps?done=app_token_revoked#apps")


SECTION = AdminSection(
    "apps", "Apps and sign-ins", "admin/section_indieauth_apps.html", load, weight=45, page="apps"
)

routes = [
    Route("/admin/apps/revoke", revoke_app, methods=["POST"], name="indieauth_revoke_app"),
    Route(
        "/admin/apps/tokens/{token_id:int}/revoke",
        revoke_app_token,
        methods=["POST"],
        name="indieauth_revoke_app_token",
    ),
]
