"""Micropub as a feature: the endpoint, the media endpoint and remote photo copies.

Spec: https://www.w3.org/TR/micropub/. Discovery (`rel="micropub"`) is advertised on every
public page; `HEARTH_MEDIA_COPY_REMOTE` copies photos given by URL through a job queued
on each stored change.
"""

from __future__ import annotations

from hearth.micropub import endpoint, follow_up, media_endpoint, remote_copy
from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.events import PostChange
from hearth.server.core.features import Feature
from hearth.server.core.settings import Settings


async def copy_on_change(change: PostChange) -> None:
    """Queue copies of the remote media a changed post names (when configured to)."""
    await remote_copy.schedule_copies(change.settings, change.post)


def body_limits(settings: Settings) -> list[BodyLimit]:
    """Micropub's JSON and form bodies, and uploads to it and to the media endpoint."""
    return [*endpoint.body_limits(settings), *media_endpoint.body_limits(settings)]


FEATURE = Feature(
    "micropub",
    routes=[*media_endpoint.routes, *endpoint.routes],
    site_links=endpoint.links,
    job_handlers={**remote_copy.HANDLERS, **follow_up.HANDLERS},
    on_post_changed=[copy_on_change],
    body_limits=body_limits,
)
