"""Visitor sessions: placeholder, filled in by the sign-in work."""

from __future__ import annotations

from starlette.requests import Request

from hearth.server.core.viewers import Viewer


async def visitor_viewer(request: Request) -> Viewer | None:
    """The visitor signed in with their own site, if `request` carries their session."""
    return None
