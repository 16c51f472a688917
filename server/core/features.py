"""The seam between the core and what plugs into it: a `Feature` is a value.

Every feature (Micropub, Webmention, WebSub, the feeds, the public pages, the admin, each
silo) describes what it adds as one `Feature`: routes, the links public pages advertise,
job handlers, hooks run when a worker starts, listeners told of every stored post change,
admin dashboard sections and notices, `hearth` subcommands, notes under a permalink,
Micropub syndication targets, ways to recognise a page's viewer, and its own tables and
settings. The composition root
(`hearth.wiring`) lists the features and hands each part to whoever runs it: the app,
the worker, the admin, the command line. Nothing registers itself by being imported.

The core defines these shapes and calls none of the features: it only knows that a list of
them exists (`install` records them, for what is read where no app is at hand, such as the
database's model apps; `hearth.server.core.events` is told the listeners once, at start-up).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.events import PostChange, PostListener
from hearth.server.core.job_worker import Handler
from hearth.server.core.models import AdminSession, Post
from hearth.server.core.settings import Settings, SettingsSection
from hearth.server.core.site_links import SiteLink
from hearth.server.core.tokens import TokenVerifier
from hearth.server.core.viewers import ViewerSource

if TYPE_CHECKING:
    from argparse import _SubParsersAction

__all__ = [
    "AdminSection",
    "Command",
    "Feature",
    "ModelApp",
    "PermalinkNote",
    "PostChange",
    "PostListener",
    "SectionLoader",
    "SyndicationTarget",
    "WorkerStartHook",
    "add_commands",
    "install",
    "installed",
]


# Run once when a worker starts: restart self-scheduling job chains that may have ended.
WorkerStartHook = Callable[[Settings], Awaitable[None]]
SectionLoader = Callable[[Request, AdminSession], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class AdminSection:
    """One part of the admin: shown on its page (`page`), `id` is also its HTML anchor.

    `template` is a fragment under `templates/admin/`; it sees `load`'s result as `data`, the
    session's CSRF token as `csrf_token` (every form must send it) and the `request`.
    """

    id: str
    title: str
    template: str
    load: SectionLoader
    # Where it sits: lower first, for the pages and for sections on one page (the admin's
    # own: posts 10, jobs 30, tokens 40, profile 50; webmentions 20; silos 100 and up).
    weight: int = 100
    # The admin page it is on, `/admin/<page>` (its own id when empty). Sections may share a
    # page: every silo's is on "silos", the apps and the tokens on "apps".
    page: str = ""

    @property
    def page_id(self) -> str:
        return self.page or self.id


@dataclass(frozen=True)
class Command:
    """A `hearth` subcommand: `configure` adds its arguments, `run` does it (exit status).

    `run` is awaited with the database open, unless `needs_database` is False.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Settings, argparse.Namespace], Awaitable[int]]
    needs_database: bool = True


@dataclass(frozen=True)
class PermalinkNote:
    """A line a silo adds under a post's permalink, e.g. "42 likes on the silo"."""

    text: str
    url: str


@dataclass(frozen=True)
class SyndicationTarget:
    """A Micropub `syndicate-to` target (https://www.w3.org/TR/micropub/#syndication-targets)."""

    uid: str
    name: str


@dataclass(frozen=True)
class ModelApp:
    """A feature's own tables: a Tortoise app `label` with `models` and `migrations` modules.

    Its migrations may depend on the core's ("models") app, never the other way round.
    """

    label: str
    models: str
    migrations: str


@dataclass(frozen=True)
class Feature:
    """What one feature or silo plugs into Hearth. Every part is optional."""

    name: str
    routes: Sequence[BaseRoute] = ()
    # Its routes match broadly (the public pages' /{year}/{month}/{slug}): the composition
    # root mounts them after every other feature's, whatever the order of the list.
    routes_last: bool = False
    # rel links every public page advertises (`Link` header and `<link>` tags); a function
    # of the settings when what is advertised depends on them.
    site_links: Sequence[SiteLink] | Callable[[Settings], Sequence[SiteLink]] = ()
    job_handlers: Mapping[str, Handler] = field(default_factory=dict)
    on_worker_start: Sequence[WorkerStartHook] = ()
    # Told of every stored post change, inside its transaction (see core.events).
    on_post_changed: Sequence[PostListener] = ()
    admin_sections: Sequence[AdminSection] = ()
    # What the dashboard says after a redirect back with ?done=<key> (never echoed input).
    admin_notices: Mapping[str, str] = field(default_factory=dict)
    commands: Sequence[Command] = ()
    # Lines shown under a post's permalink (a silo's like count, say).
    permalink_notes: Callable[[Post], Awaitable[Sequence[PermalinkNote]]] | None = None
    # Micropub syndication targets this feature offers.
    syndication_targets: Callable[[Settings], Awaitable[Sequence[SyndicationTarget]]] | None = None
    # Its own database tables, as a Tortoise app beside the core's (with its migrations).
    model_app: ModelApp | None = None
    # Hosts (a silo's) where webmention discovery would only fetch a login wall: posts'
    # links there are not sent webmentions.
    hosts_without_webmention: frozenset[str] = frozenset()
    # A folder of its own templates (e.g. its admin section's), searched after the core's.
    template_dir: Path | None = None
    # The class of its own settings (read from the environment with the core's).
    settings_section: type[SettingsSection] | None = None
    # How it recognises who is viewing a page (see core.viewers), tried in feature order.
    viewer_sources: Sequence[ViewerSource] = ()
    # Replaces the core's bearer token check, if the function gives one for these settings
    # and the app's state (whose `http` client it may use once the app runs).
    token_verifier: Callable[[Settings, Any], TokenVerifier | None] | None = None
    # Its routes that take larger request bodies than a form's (see core.body_limit), a
    # function of the settings when they depend on them (the media upload limit).
    body_limits: Sequence[BodyLimit] | Callable[[Settings], Sequence[BodyLimit]] = ()

    def links(self, settings: Settings) -> Sequence[SiteLink]:
        """The rel links it advertises with these settings."""
        if callable(self.site_links):
            return self.site_links(settings)
        return self.site_links

    def limits(self, settings: Settings) -> Sequence[BodyLimit]:
        """Its request body limits with these settings."""
        if callable(self.body_limits):
            return self.body_limits(settings)
        return self.body_limits


_installed: tuple[Feature, ...] = ()


def install(chosen: Sequence[Feature]) -> None:
    """Record the features this process runs (the composition root calls this at start).

    What must be known where no request or app is at hand (the database's model apps, say)
    is read from here; everything else is handed out by the root.
    """
    global _installed
    _installed = tuple(chosen)


def installed() -> tuple[Feature, ...]:
    return _installed


def add_commands(
    subparsers: _SubParsersAction[argparse.ArgumentParser], commands: Sequence[Command]
) -> None:
    """Add each command to the `hearth` parser's subcommands."""
    for command in commands:
        command.configure(subparsers.add_parser(command.name, help=command.help))
