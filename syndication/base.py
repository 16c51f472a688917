"""The interface every silo module offers: a small Protocol, with results as values.

A silo module (one per silo, e.g. `hearth.syndication.instagram`) provides a class satisfying
`Syndicator`; `syndication.SYNDICATORS` maps each `mp-syndicate-to` name to it explicitly.
Expected refusals ("this silo cannot take a note without a photo") come back as a
`SyndicationResult` with `abort` set, not as exceptions; exceptions mean something broke
(shared/reference/aesthetics.md habits 5-6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hearth.server.core.models import Post


@dataclass(frozen=True)
class SyndicationResult:
    """What publishing (or previewing) a post on a silo did or would do."""

    # The silo copy's URL, once it exists (None for previews and refusals).
    url: str | None = None
    # What was (or would be) sent, for the admin and for previews.
    description: str = ""
    # True when the silo cannot take this post; `error` says why.
    abort: bool = False
    error: str | None = None


class Syndicator(Protocol):
    """One silo. Preview and publish share one code path (`preview=True` sends nothing)."""

    # The name used in `mp-syndicate-to` and in `SYNDICATORS`.
    name: str

    async def publish(self, post: Post, *, preview: bool) -> SyndicationResult:
        """Copy `post` to the silo, or with `preview` only say what would be sent."""
        ...
