"""The module-level app for ASGI servers: `uvicorn hearth.asgi:app`.

Settings are read when this module is imported by the server, which is the one place
Hearth allows it; everything else receives settings from `create_app`.
"""

from hearth import wiring
from hearth.app import create_app
from hearth.server.core.settings import Settings

app = create_app(Settings.from_env(sections=wiring.settings_sections()), run_worker=True)
