"""The links a page advertises: endpoints, feeds, hub, shortlink.

Each feature lists its `SiteLink`s in its `Feature` (`site_links`); the composition root
gathers them for the app (`app.state.site_links`), and every public page carries them both
as HTTP `Link` headers and as `<link>` tags, so clients that read either find the Micropub,
Webmention and feed URLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hearth.server.core.settings import Settings


@dataclass(frozen=True)
class SiteLink:
    rel: str
    # Site-relative path, or an absolute URL (for example a WebSub hub elsewhere).
    href: str
    type: str | None = None
    title: str | None = None

    def absolute(self, settings: Settings) -> str:
        if self.href.startswith(("http://", "https://")):
            return self.href
        return settings.absolute(self.href)


def link_header(settings: Settings, links: Iterable[SiteLink]) -> str:
    """A `Link` header value (RFC 8288) naming every link."""
    parts = []
    for link in links:
        part = f'<{link.absolute(settings)}>; rel="{link.rel}"'
        if link.type:
            part += f'; type="{link.type}"'
        parts.append(part)
    return ", ".join(parts)
