"""IndieAuth as a feature: the authorization server, the visitor sign-in, delegation.

Spec: https://indieauth.spec.indieweb.org/
"""

from __future__ import annotations

from pathlib import Path

from hearth.server.core.features import Feature, ModelApp
from hearth.server.indieauth import (
    apps_section,
    authorization,
    delegation,
    metadata,
    signin,
    token_endpoint,
)
from hearth.server.indieauth.indieauth_settings import IndieAuthSettings
from hearth.server.indieauth.visitors import visitor_viewer

FEATURE = Feature(
    "indieauth",
    routes=[
        *metadata.routes,
        *authorization.routes,
        *token_endpoint.routes,
        *signin.routes,
        *apps_section.routes,
    ],
    admin_sections=[apps_section.SECTION],
    admin_notices=apps_section.NOTICES,
    site_links=metadata.site_links,
    settings_section=IndieAuthSettings,
    viewer_sources=[visitor_viewer],
    token_verifier=delegation.delegated_verifier,
    template_dir=Path(__file__).parent / "templates",
    model_app=ModelApp(
        "indieauth",
        models="hearth.server.indieauth.tables",
        migrations="hearth.server.indieauth.migrations",
    ),
)
