"""The composition root: the features Hearth is made of, and where each part goes.

Every feature and silo is a `Feature` value (`hearth.server.core.features`). This module
lists them, in order, and takes them apart for whoever runs them: the app (`app.py`) gets
routes, site links, admin sections, permalink notes and syndication targets; a worker
gets job handlers and start hooks; `hearth.server.core.events` gets the post-change
listeners; the command line (`cli.py`) gets the subcommands. Only this module, `app.py`
and `cli.py` import the features; the import-linter contracts in pyproject.toml keep it so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from hearth.micropub.editor.editor_feature import FEATURE as EDITOR
from hearth.micropub.micropub_feature import FEATURE as MICROPUB
from hearth.server import admin, feeds, pages, scheduling, websub
from hearth.server.contexts.contexts_feature import FEATURE as CONTEXTS
from hearth.server.core import events, page_changes, page_generations
from hearth.server.core import features as core_features
from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.features import AdminSection, Command, Feature
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.media import files as media_files
from hearth.server.core.settings import Settings, SettingsSection
from hearth.server.core.site_links import SiteLink
from hearth.server.core.tokens import TokenVerifier
from hearth.server.core.viewers import ViewerSource
from hearth.server.core.web import TEMPLATE_DIR
from hearth.server.indieauth.indieauth_feature import FEATURE as INDIEAUTH
from hearth.server.webmention.webmention_feature import FEATURE as WEBMENTION
from hearth.syndication import SILOS

__all__ = [
    "admin_sections",
    "body_limits",
    "commands",
    "features",
    "install",
    "job_handlers",
    "on_worker_start",
    "routes",
    "settings_sections",
    "site_links",
    "token_verifier",
    "viewer_sources",
]


def features() -> tuple[Feature, ...]:
    """Every feature, in order (the order of listeners, site links and routes)."""
    return (
        feeds.FEATURE,
        MICROPUB,
        WEBMENTION,
        websub.FEATURE,
        scheduling.FEATURE,
        admin.FEATURE,
        EDITOR,
        INDIEAUTH,
        CONTEXTS,
        *SILOS,
        pages.FEATURE,
    )


def routes(chosen: Sequence[Feature]) -> list[BaseRoute]:
    """The URL map: the core's own (media files, static assets), then each feature's."""
    core: list[BaseRoute] = [
        *media_files.routes,
        Mount("/static", StaticFiles(directory=TEMPLATE_DIR / "static"), name="static"),
    ]
    ordered = sorted(chosen, key=lambda feature: feature.routes_last)  # stable: False first
    return core + [route for feature in ordered for route in feature.routes]


def site_links(chosen: Sequence[Feature], settings: Settings) -> list[SiteLink]:
    return [link for feature in chosen for link in feature.links(settings)]


def body_limits(chosen: Sequence[Feature], settings: Settings) -> list[BodyLimit]:
    """The route families that take larger request bodies than a form's."""
    return [limit for feature in chosen for limit in feature.limits(settings)]


def viewer_sources(chosen: Sequence[Feature]) -> list[ViewerSource]:
    return [source for feature in chosen for source in feature.viewer_sources]


def token_verifier(
    chosen: Sequence[Feature], settings: Settings, state: Any
) -> TokenVerifier | None:
    """The bearer token check a feature puts in place of the core's, if one does."""
    for feature in chosen:
        if feature.token_verifier is not None:
            verifier = feature.token_verifier(settings, state)
            if verifier is not None:
                return verifier
    return None


def job_handlers(chosen: Sequence[Feature] | None = None) -> dict[str, Handler]:
    """Every job kind a worker can run, and its handler; a kind claimed twice is an error."""
    handlers: dict[str, Handler] = {}
    for feature in features() if chosen is None else chosen:
        for kind, handler in feature.job_handlers.items():
            if kind in handlers:
                raise ValueError(f"job kind {kind!r} of {feature.name} is handled already")
            handlers[kind] = _bumping(handler)
    return handlers


def _bumping(handler: Handler) -> Handler:
    """`handler` as one unit of work: the public changes it records are bumped once it has
    returned (or failed), when its transactions are committed (see core.page_changes)."""

    async def run(ctx: JobContext, payload: dict[str, Any]) -> None:
        with page_changes.unit(page_generations.open_generations(ctx.settings.data_dir)):
            await handler(ctx, payload)

    run.__name__ = getattr(handler, "__name__", "handler")
    run.__wrapped__ = handler  # type: ignore[attr-defined]
    return run


async def on_worker_start(settings: Settings, chosen: Sequence[Feature] | None = None) -> None:
    """Restart the self-scheduling job chains, which may have ended while no worker ran
    (or when one was killed on a job's last attempt)."""
    # A worker killed between a commit and its bump: every page is new after a start.
    page_generations.install(settings.data_dir).bump(page_generations.AT_START)
    for feature in features() if chosen is None else chosen:
        for hook in feature.on_worker_start:
            await hook(settings)


def install(chosen: Sequence[Feature]) -> None:
    """Tell the core which features run in this process: who hears of stored post changes,
    and whose tables the database holds. The app, the worker and every command call this
    before they touch the database."""
    core_features.install(chosen)
    page_changes.watch_models()
    events.set_listeners(listener for feature in chosen for listener in feature.on_post_changed)


def admin_sections(chosen: Sequence[Feature]) -> list[AdminSection]:
    sections = [section for feature in chosen for section in feature.admin_sections]
    return sorted(sections, key=lambda section: section.weight)


def settings_sections(chosen: Sequence[Feature] | None = None) -> list[type[SettingsSection]]:
    """The classes of the features' own settings, for `Settings.from_env(sections=...)`."""
    listed = features() if chosen is None else chosen
    return [f.settings_section for f in listed if f.settings_section is not None]


def commands(chosen: Sequence[Feature]) -> list[Command]:
    return [command for feature in chosen for command in feature.commands]
