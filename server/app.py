"""The application factory: `create_app(settings)` builds the whole site.

The URL map is assembled here from each feature module's `routes`, and the links the home
page advertises from each module's `links`, so both are readable in one place.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from hearth.micropub import endpoint as micropub_endpoint
from hearth.micropub import media_endpoint as micropub_media
from hearth.server import admin, feeds, pages
from hearth.server.core import db, media_files
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.settings import Settings
from hearth.server.core.web import TEMPLATE_DIR, create_templates
from hearth.server.webmention import receive as webmention
from hearth.server.wiring import job_handlers, on_worker_start
from hearth.syndication.instagram import admin as instagram_admin  # noqa: F401 - registers its section
from hearth.syndication.instagram import connect as instagram_connect
from hearth.syndication.instagram import webhook as instagram_webhook


def create_app(
    settings: Settings,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    run_worker: bool = False,
) -> Starlette:
    """Build the ASGI app; the lifespan opens the database and the shared HTTP client."""
    routes = [
        *feeds.routes,
        *media_files.routes,
        *micropub_media.routes,
        *micropub_endpoint.routes,
        *admin.routes,
        *webmention.routes,
        Mount("/static", StaticFiles(directory=TEMPLATE_DIR / "static"), name="static"),
        *instagram_webhook.routes,
        *instagram_connect.routes,
        # Last: the permalink pattern would otherwise shadow other three-part paths.
        *pages.routes,
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            db.connect(settings),
            create_http_client(settings, transport=http_transport) as http,
        ):
            app.state.http = http
            worker_task = None
            stop = asyncio.Event()
            if run_worker:
                await on_worker_start(settings)
                worker = Worker(settings, job_handlers(), http=http)
                worker_task = asyncio.create_task(worker.run(stop))
            try:
                yield
            finally:
                stop.set()
                if worker_task is not None:
                    await worker_task

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: pages.not_found},
    )
    app.state.settings = settings
    app.state.templates = create_templates()
    app.state.site_links = [*feeds.links, *micropub_endpoint.links, *webmention.links]
    return app
