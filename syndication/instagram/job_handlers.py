"""Every Instagram job kind this package handles: the silo's `Feature.job_handlers`."""

from __future__ import annotations

from hearth.server.core.job_worker import Handler
from hearth.syndication.instagram import (
    account,
    backfeed,
    changes,
    comments,
    history,
    poll,
    retract,
)

HANDLERS: dict[str, Handler] = {
    **account.HANDLERS,  # token refresh
    **poll.HANDLERS,  # copying media home
    **comments.HANDLERS,  # the first comment
    **retract.HANDLERS,  # taking it back
    **backfeed.HANDLERS,  # comments to responses
    **changes.HANDLERS,  # webhook deliveries
    **history.HANDLERS,  # the data-export import
}
