"""Every Instagram job kind this package handles, for `server.tasks` (instagram.md §6)."""

from __future__ import annotations

from server.worker import Handler
from syndication.instagram import account, poll

HANDLERS: dict[str, Handler] = {**account.HANDLERS, **poll.HANDLERS}
