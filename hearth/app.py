"""The application factory: `create_app(settings)` builds the whole site.

The features it is made of come from the composition root (`hearth.wiring`), which
also says where each of their parts goes; a test may pass its own list (a test-only silo,
say) with `features=`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette

from hearth import wiring
from hearth.server import pages
from hearth.server.core import db, page_generations
from hearth.server.core.body_limit import BodyLimitMiddleware
from hearth.server.core.disconnects import QuietDisconnectMiddleware
from hearth.server.core.features import Feature
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.nul_guard import NulGuardMiddleware
from hearth.server.core.page_cache import PageCache
from hearth.server.core.pressure import Pressure, PressureMiddleware
from hearth.server.core.settings import Settings
from hearth.server.core.web import create_templates


def create_app(
    settings: Settings,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    run_worker: bool = False,
    features: Sequence[Feature] | None = None,
) -> Starlette:
    """Build the ASGI app; the lifespan opens the database and the shared HTTP client."""
    chosen = tuple(wiring.features() if features is None else features)
    wiring.install(chosen)
    pressure = Pressure()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            db.connect(settings),
            create_http_client(settings, transport=http_transport) as http,
        ):
            app.state.http = http
            # Pages cached by an earlier run of this or another process may show what a
            # process killed between a commit and its bump left, or an older release's
            # templates: a start makes every page new (and every kept token is read again).
            page_generations.install(settings.data_dir).bump(page_generations.AT_START)
            worker_task = None
            stop = asyncio.Event()
            if run_worker:
                await wiring.on_worker_start(settings, chosen)
                # It gives way to this process's requests (core.pressure).
                handlers = wiring.job_handlers(chosen)
                worker = Worker(settings, handlers, http=http, gives_way=pressure.busy)
                worker_task = asyncio.create_task(worker.run(stop))
            try:
                yield
            finally:
                stop.set()
                if worker_task is not None:
                    await worker_task

    app = Starlette(
        routes=wiring.routes(chosen),
        lifespan=lifespan,
        exception_handlers={404: pages.not_found},
    )
    # Request bodies over their route's limit are refused (413) before a view reads them.
    app.add_middleware(BodyLimitMiddleware, limits=wiring.body_limits(chosen, settings))
    # A NUL in the path (404) or query (400) names nothing stored (core.nul_guard).
    app.add_middleware(NulGuardMiddleware)
    # A client gone before its body ended is no error: no traceback, no answer. Added last,
    # so it is the outermost of ours and also covers a disconnect met by those inside it.
    app.add_middleware(QuietDisconnectMiddleware)
    # Outermost: a cached page is answered before anything else runs (core.page_cache).
    app.add_middleware(PageCache, settings=settings)
    # Notes each request's arrival, cached or not, for the worker above (core.pressure).
    app.add_middleware(PressureMiddleware, pressure=pressure)
    app.state.settings = settings
    app.state.pressure = pressure
    app.state.templates = create_templates([f.template_dir for f in chosen if f.template_dir])
    app.state.features = chosen
    app.state.site_links = wiring.site_links(chosen, settings)
    app.state.viewer_sources = wiring.viewer_sources(chosen)
    verifier = wiring.token_verifier(chosen, settings, app.state)
    if verifier is not None:
        app.state.token_verifier = verifier
    app.state.admin_sections = wiring.admin_sections(chosen)
    app.state.admin_notices = {k: v for f in chosen for k, v in f.admin_notices.items()}
    app.state.permalink_notes = [f.permalink_notes for f in chosen if f.permalink_notes]
    app.state.syndication_targets = [f.syndication_targets for f in chosen if f.syndication_targets]
    return app
