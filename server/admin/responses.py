"""Rendering admin pages and the security headers every admin response carries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from hearth.server.admin.dashboard import pages_of

# Admin pages load nothing but the site's stylesheet and images, run no script, and may not
# be framed or post anywhere else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def secure(response: Response) -> Response:
    """Add the admin security headers to `response` (kept if a view already set them)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def redirect(url: str) -> Response:
    """A 303 See Other, the answer to a form POST and to a signed-out visit."""
    return secure(RedirectResponse(url, status_code=303))


def render_admin(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render an admin template (extending `admin/base.html`) with the security headers."""
    templates: Jinja2Templates = request.app.state.templates
    full = {"admin_pages": pages_of(request), **context}
    response = templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=dict(headers or {})
    )
    secure(response)
    return response
