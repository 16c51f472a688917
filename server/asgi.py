"""The module-level app for ASGI servers: `uvicorn server.asgi:app`.

Settings are read when this module is imported by the server, which is the one place
Hearth allows it; everything else receives settings from `create_app`.
"""

from server.app import create_app
from server.settings import Settings

app = create_app(Settings.from_env(), run_worker=True)
