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

# Public pages load the site's stylesheet and icon, images (and a post's video or audio)
# from anywhere, run no script, post forms only to the site, and may not be framed.
PUBLIC_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "media-src 'self' https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PUBLIC_SECURITY_HEADERS = {
    "Content-Security-Policy": PUBLIC_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    # For browsers without CSP's frame-ancestors.
    "X-Frame-Options": "DENY",
}


def public_policy(settings: Settings, *, form_action: str = "") -> str:
    """The public pages' CSP; `form_action` adds sources a form may lead to (the visitor
    sign-in form's answer redirects to the visitor's own server). A site served over plain
    http (a local one) also takes http images and media: it has no mixed content to refuse."""
    policy = PUBLIC_POLICY
    if not settings.https:
        policy = policy.replace(" https:", " https: http:")
    if form_action:
        policy = policy.replace("form-action 'self'", f"form-action 'self' {form_action}")
    return policy


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
    in the `Link` header and as `<link>` tags alike. Every page gets the public security
    headers (`PUBLIC_SECURITY_HEADERS`); a header in `headers` replaces the default.
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
    # A view's own (in `headers`) win: the sign-in form's wider form-action, say.
    security = {**PUBLIC_SECURITY_HEADERS, "Content-Security-Policy": public_policy(settings)}
    for name, value in security.items():
        response.headers.setdefault(name, value)
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
