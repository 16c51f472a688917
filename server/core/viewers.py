"""Who is looking at a page: the owner, a visitor signed in with their own site, or anyone.

Pages that show more to some viewers (the owner sees private posts, an audience member the
posts shared with them) ask `viewer_of(request)`. Features say how to recognise a viewer
(`Feature.viewer_sources`: the admin's owner session, IndieAuth's visitor session); the
first source that recognises the request wins, and the answer is kept for the request.
A response that depended on a signed-in viewer must never be stored by a shared cache:
`varies_by_viewer` marks it so. Sources recognise viewers by a cookie (or the Authorization
header): the site's own page cache (`core.page_cache`) answers requests with neither from
pages rendered for anyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["ANONYMOUS", "Viewer", "ViewerSource", "varies_by_viewer", "viewer_of"]

_SCOPE_KEY = "hearth.viewer"


@dataclass(frozen=True)
class Viewer:
    """`me` is the viewer's canonical profile URL (the site's own URL for the owner)."""

    me: str | None = None
    owner: bool = False
    name: str | None = None
    photo: str | None = None
    # The signed-in visitor's form token (their sign-out form sends it).
    csrf_token: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.owner or self.me is not None


ANONYMOUS = Viewer()

# Recognises the viewer of a request, or None when this source does not.
ViewerSource = Callable[[Request], Awaitable[Viewer | None]]


async def viewer_of(request: Request) -> Viewer:
    """The viewer of `request` (ANONYMOUS unless a feature's source recognises them)."""
    if _SCOPE_KEY in request.scope:
        known: Viewer = request.scope[_SCOPE_KEY]
        return known
    viewer = ANONYMOUS
    sources: Sequence[ViewerSource] = getattr(request.app.state, "viewer_sources", ())
    for source in sources:
        found = await source(request)
        if found is not None:
            viewer = found
            break
    request.scope[_SCOPE_KEY] = viewer
    return viewer


def varies_by_viewer(response: Response, viewer: Viewer) -> Response:
    """Mark a public page: shared caches key it by cookie, and never keep a signed-in one."""
    vary = response.headers.get("Vary")
    if not vary or "cookie" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Cookie" if vary else "Cookie"
    if viewer.signed_in:
        response.headers["Cache-Control"] = "private, no-cache"
    return response
