"""Trusting another IndieAuth server: placeholder, filled in by the delegation work."""

from __future__ import annotations

from typing import Any

from hearth.server.core.settings import Settings
from hearth.server.core.tokens import TokenVerifier


def delegated_verifier(settings: Settings, state: Any) -> TokenVerifier | None:
    """The token check for delegation, or None when Hearth is its own server."""
    return None
