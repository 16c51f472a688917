"""Micropub as a feature: the endpoint, the media endpoint and remote photo copies.

Spec: https://www.w3.org/TR/micropub/. Discovery (`rel="micropub"`) is advertised on every
public page; `HEARTH_MEDIA_COPY_REMOTE` copies photos given by URL through a job queued
on each stored change.
"""

from __future__ import annotations

from hearth.micropub import endpoint, media_endpoint, remote_copy
from hearth.server.core.events import PostChange
from hearth.server.core.features import Feature


async def copy_on_change(change: PostChange) -> None:
    """Queue copies of the remote media a changed post names (when configured to)."""
    await remote_copy.schedule_copies(change.settings, change.post)


FEATURE = Feature(
    "micropub",
    routes=[*media_endpoint.routes, *endpoint.routes],
    site_links=endpoint.links,
    job_handlers=remote_copy.HANDLERS,
    on_post_changed=[copy_on_change],
)
