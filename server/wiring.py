"""The job registry: every kind of background job Hearth knows, and its handler.

Explicit on purpose: adding a feature that queues work means adding its handlers here, so
the list of what a worker can run is readable in one place.
"""

from __future__ import annotations

from hearth.micropub import remote_copy
from hearth.server import websub
from hearth.server.core.job_worker import Handler
from hearth.server.core.settings import Settings
from hearth.server.webmention import send as webmention_send
from hearth.server.webmention import verify as webmention_verify
from hearth.syndication.instagram import account as instagram_account
from hearth.syndication.instagram import job_handlers as instagram_jobs
from hearth.syndication.instagram import poll as instagram_poll


def job_handlers() -> dict[str, Handler]:
    return {
        **websub.HANDLERS,
        **remote_copy.HANDLERS,
        **webmention_send.HANDLERS,
        **webmention_verify.HANDLERS,
        **instagram_jobs.HANDLERS,
    }


async def on_worker_start(settings: Settings) -> None:
    """Restart the self-scheduling job chains, which may have ended while no worker ran
    (or when one was killed on a job's last attempt): the Instagram poll and token refresh."""
    await instagram_poll.ensure_polling(settings)
    await instagram_account.ensure_refresh()
