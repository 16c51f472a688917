"""Link contexts as a feature (filled in by the public-site work)."""

from __future__ import annotations

from hearth.server.core.features import Feature

FEATURE = Feature("contexts")
