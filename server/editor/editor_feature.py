"""The editor as a feature (filled in by the editor work)."""

from __future__ import annotations

from hearth.server.core.features import Feature

FEATURE = Feature("editor")
