"""Visitor sign-in (IndieAuth client): placeholder, filled in by the sign-in work."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
