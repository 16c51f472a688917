"""The admin shell: the owner's password, sign-in, sessions, CSRF and the dashboard.

`FEATURE` is what the composition root wires in; other features build on `require_admin`,
`render_admin`, `redirect` and `current_session`, and add dashboard sections of their own.
"""

from hearth.server.admin.dashboard import SECTIONS
from hearth.server.admin.passwords import set_password, verify_password
from hearth.server.admin.responses import redirect, render_admin
from hearth.server.admin.sessions import current_session, login_url, owner_viewer, require_admin
from hearth.server.admin.views import NOTICES, routes
from hearth.server.core.features import Feature

__all__ = [
    "FEATURE",
    "current_session",
    "login_url",
    "redirect",
    "render_admin",
    "require_admin",
    "set_password",
    "verify_password",
]

FEATURE = Feature(
    "admin",
    routes=routes,
    admin_sections=SECTIONS,
    admin_notices=NOTICES,
    viewer_sources=[owner_viewer],
)
