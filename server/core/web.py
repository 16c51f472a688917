"""Rendering pages: the Jinja2 environment and the context every page shares."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

import hearth.templates as templates_package
from hearth.server.core.hrefs import valid_href
from hearth.server.core.render import owner_card
from hearth.server.core.settings import Settings
from hearth.server.core.site_links import SiteLink, link_header
from hearth.server.core.timestamps import rfc3339
from hearth.server.core.viewers import varies_by_viewer, viewer_of

TEMPLATE_DIR = Path(templates_package.__file__).parent


def create_templates(feature_dirs: Sequence[Path] = ()) -> Jinja2Templates:
    """The pages' Jinja2 environment: the core's templates, then each feature's own folder."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([TEMPLATE_DIR, *feature_dirs]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Jinja's urlencode keeps "/", which would split a tag like "a/b" into two path parts.
    environment.filters["path_segment"] = lambda value: quote(str(value), safe="")
    # `<time datetime>` values: whole seconds or milliseconds, as HTML allows.
    environment.filters["rfc3339"] = rfc3339
    # URLs from other sites in `href`: spelled as HTML requires (a space left in them).
    environment.filters["href"] = valid_href
    return Jinja2Templates(env=environment)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def site_links(request: Request) -> list[SiteLink]:
    links: list[SiteLink] = request.app.state.site_links
    return links


async def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    links: Iterable[SiteLink] = (),
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a public page with the owner card and the site's discovery links.

    `links` are page-specific links (rel=shortlink, rel=next ...) added to the site's own,
    in the `Link` header and as `<link>` tags alike.
    """
    settings = settings_of(request)
    all_links = [*site_links(request), *links]
    viewer = await viewer_of(request)
    full_context = {
        "viewer": viewer,
        "owner": await owner_card(settings),
        "site_url": settings.url,
        "head_links": [
            {"rel": link.rel, "href": link.absolute(settings), "type": link.type}
            for link in all_links
        ],
        **context,
    }
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(
        request, name, full_context, status_code=status_code, headers=dict(headers or {})
    )
    if all_links:
        response.headers["Link"] = link_header(settings, all_links)
    # The footer names a signed-in viewer, and pages may show them more: never shared.
    varies_by_viewer(response, viewer)
    return response


async def error_page(
    request: Request, status_code: int, heading: str, message: str
) -> HTMLResponse:
    return await render(
        request,
        "error.html",
        {"status_code": status_code, "heading": heading, "message": message},
        status_code=status_code,
    )
