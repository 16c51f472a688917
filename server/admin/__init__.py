"""The admin shell: the owner's password, sign-in, sessions, CSRF and the dashboard.

`routes` go into `create_app`; other admin features build on `require_admin`,
`current_session` and `dashboard.SECTIONS`.
"""

from hearth.server.admin.dashboard import SECTIONS, DashboardSection
from hearth.server.admin.passwords import set_password, verify_password
from hearth.server.admin.sessions import current_session, require_admin
from hearth.server.admin.views import routes

__all__ = [
    "SECTIONS",
    "DashboardSection",
    "current_session",
    "require_admin",
    "routes",
    "set_password",
    "verify_password",
]
