"""Webmention as a feature: what it plugs into Hearth (https://www.w3.org/TR/webmention/).

Receiving at `/webmention` with status pages, verification and sending as jobs, a listener
that queues sends for every stored post change, and the admin's Responses page.
"""

from __future__ import annotations

from hearth.server.core.events import PostChange
from hearth.server.core.features import Feature
from hearth.server.webmention import admin_section, receive, send, verify
from hearth.server.webmention.webmention_settings import WebmentionSettings


async def send_on_change(change: PostChange) -> None:
    """Queue webmentions for a change: its own rules say which posts and targets."""
    await send.schedule_webmentions(change.settings, change.post, change.previous_properties)


FEATURE = Feature(
    "webmention",
    routes=[*receive.routes, *admin_section.routes],
    site_links=receive.links,
    job_handlers={**send.HANDLERS, **verify.HANDLERS},
    on_post_changed=[send_on_change],
    admin_sections=admin_section.SECTIONS,
    settings_section=WebmentionSettings,
)
