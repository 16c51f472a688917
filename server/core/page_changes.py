"""Changes to public content, recorded where they are made and bumped after their commit.

Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4.4 (invalidating stored responses).

A change is *recorded* (`changed`) wherever it happens, inside a transaction or not: every
save or delete of a post, a response (`Interaction`) or a site setting (the h-card) by its
model's signal (`watch_models`), and explicitly where rows change by `QuerySet.update` (no
signal: webmention moderation's `regroup`, reply contexts, Instagram like counts) or where a
post's change must reach its listeners (`core.events.post_changed`). The generations it moves
(`hearth.server.core.page_generations`) are *bumped* when the unit of work that recorded it
ends (`unit`): the request (the page cache's middleware, once the response starts), the job
(`hearth.wiring` wraps every handler), the command (`hearth.cli`). Those end after their
transactions committed, so a page rendered from the old data is always older than the bump;
a bump before the commit would let a page rendered in between pass for new.

A long unit (an Instagram poll copying many posts in one job) also bumps what it recorded
`EARLY_BUMP` seconds later, while it goes on: its commits are done by then in all but rare
cases (a transaction held longer), which the bump at its end still covers. Outside any unit
(a test, a start-up hook) a change is bumped at once: the caller has committed.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tortoise.signals import Signals

from hearth.server.core import page_generations
from hearth.server.core.models import Interaction, Post, SiteSetting
from hearth.server.core.page_generations import LISTINGS, SITE, TOKENS, Generations, post_scope

__all__ = ["EARLY_BUMP", "Unit", "changed", "counters", "unit", "watch_models"]

EARLY_BUMP = 0.2


class Unit:
    """One unit of work's recorded changes (see the module docstring)."""

    def __init__(self, generations: Generations) -> None:
        self.generations = generations
        self.scopes: set[int] = set()
        self._early: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None

    def record(self, scopes: set[int]) -> None:
        self.scopes |= scopes
        self._early |= scopes
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._timer = loop.call_later(EARLY_BUMP, self._bump_early)

    def _bump_early(self) -> None:
        self._timer = None
        early, self._early = self._early, set()
        if early:
            self.generations.bump(early)

    def flush(self) -> None:
        """Bump everything recorded so far (its commits are done)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._early = set()
        if self.scopes:
            scopes, self.scopes = self.scopes, set()
            self.generations.bump(scopes)


_current: contextvars.ContextVar[Unit | None] = contextvars.ContextVar(
    "hearth_page_changes", default=None
)


@contextmanager
def unit(generations: Generations) -> Iterator[Unit]:
    """A unit of work: the changes recorded in it are bumped when it ends (or at `flush`).
    Tasks started inside it share it (a copy of the context holds the same unit)."""
    recorded = Unit(generations)
    token = _current.set(recorded)
    try:
        yield recorded
    finally:
        _current.reset(token)
        recorded.flush()


def counters() -> Generations | None:
    """The generations this unit of work bumps (else the process's), to read one."""
    recorded = _current.get()
    return recorded.generations if recorded is not None else page_generations.installed()


def changed(*post_ids: int, site: bool = False, tokens: bool = False) -> None:
    """Record a change to public content: to these posts (their pages and every listing), or
    with `site` to what every page shows (the h-card); with `tokens`, a token's revocation
    (no page shows it: it ends the live tokens `core.tokens` keeps, in every process)."""
    scopes = {SITE} if site else set()
    if tokens:
        scopes.add(TOKENS)
    if post_ids:
        scopes |= {LISTINGS, *(post_scope(post_id) for post_id in post_ids)}
    recorded = _current.get()
    if recorded is not None:
        recorded.record(scopes)
    elif (counters := page_generations.installed()) is not None:
        counters.bump(scopes)


async def _post_saved(_model: type[Post], post: Post, *_args: Any) -> None:
    changed(post.id)


async def _response_saved(_model: type[Interaction], response: Interaction, *_args: Any) -> None:
    post_id: int | None = response.post_id  # type: ignore[attr-defined]
    if post_id is not None:
        changed(post_id)


async def _setting_saved(_model: type[SiteSetting], _row: SiteSetting, *_args: Any) -> None:
    changed(site=True)  # the h-card, chiefly; the other settings change rarely


def watch_models() -> None:
    """Record every save and delete of a post, a response or a site setting as a change.
    The composition root calls this at start (registering twice is harmless)."""
    for model, listener in (
        (Post, _post_saved),
        (Interaction, _response_saved),
        (SiteSetting, _setting_saved),
    ):
        for signal in (Signals.post_save, Signals.post_delete):
            model.register_listener(signal, listener)
