"""The admin's pages: the sections every feature contributes, each on its page, in weight
order (posts, responses, jobs, apps and tokens, profile, silos). The Posts page has its own
module, `posts_page`.

A section (`hearth.server.core.features.AdminSection`) is a title, a template fragment under
`templates/admin/` and an async `load` returning that fragment's data. The admin's own are
`SECTIONS`; other features list theirs in their `Feature`, and the composition root hands
the app all of them (`app.state.admin_sections`). The fragment sees its data as `data`, the
session's token as `csrf_token` (every form must send it as a hidden `csrf_token` field)
and the `request`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from hearth.server.admin.posts_page import load_posts
from hearth.server.core import job_queue
from hearth.server.core.features import AdminSection
from hearth.server.core.models import AdminSession, SiteSetting, Token
from hearth.server.core.render import owner_card
from hearth.server.core.web import settings_of

# The names of the pages in the admin's navigation; a page not named here takes the title
# of its first section.
PAGE_TITLES = {
    "posts": "Posts",
    "responses": "Responses",
    "jobs": "Jobs",
    "apps": "Apps and tokens",
    "profile": "Profile",
    "silos": "Silos",
}
RECENT_FAILURES = 10
HCARD_KEY = "hcard"


@dataclass(frozen=True)
class AdminPage:
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class LoadedSection:
    id: str
    title: str
    template: str
    data: Mapping[str, Any]


async def load_jobs(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """Jobs per state and the latest failures with their errors."""
    return {
        "counts": await job_queue.job_counts(),
        "failures": await job_queue.recent_failures(RECENT_FAILURES),
    }


async def load_tokens(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """Tokens that still work or merely expired; revoked ones are gone from the list."""
    tokens = await Token.filter(revoked_at__isnull=True).order_by("-created_at", "-id")
    now = datetime.now(UTC)
    return {
        "tokens": [
            {"token": t, "expired": t.expires_at is not None and t.expires_at <= now}
            for t in tokens
        ]
    }


async def stored_hcard() -> dict[str, str]:
    """The owner's h-card overrides as saved in the admin ("" where none)."""
    row = await SiteSetting.get_or_none(key=HCARD_KEY)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    return {field: str(value.get(field) or "") for field in ("name", "photo", "note")}


async def load_profile(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """The h-card form: saved overrides, and the card the public site shows now."""
    settings = settings_of(request)
    return {
        "values": await stored_hcard(),
        "card": await owner_card(settings),
        "defaults": {"name": settings.name, "photo": settings.photo, "note": settings.note},
        "errors": {},
    }


SECTIONS = (
    AdminSection("posts", "Posts", "admin/section_posts.html", load_posts, weight=10),
    AdminSection("jobs", "Jobs", "admin/section_jobs.html", load_jobs, weight=30),
    AdminSection(
        "tokens", "Tokens", "admin/section_tokens.html", load_tokens, weight=40, page="apps"
    ),
    AdminSection(
        "profile", "Profile (h-card)", "admin/section_profile.html", load_profile, weight=50
    ),
)


def sections_of(request: Request) -> Sequence[AdminSection]:
    """The admin's sections, as the composition root gave them to the app (by weight)."""
    sections: Sequence[AdminSection] = request.app.state.admin_sections
    return sections


def pages_of(request: Request) -> list[AdminPage]:
    """The admin's pages, in the order of their first section."""
    pages: dict[str, AdminPage] = {}
    for section in sections_of(request):
        if section.page_id not in pages:
            title = PAGE_TITLES.get(section.page_id, section.title)
            pages[section.page_id] = AdminPage(section.page_id, title, f"/admin/{section.page_id}")
    return list(pages.values())


async def load_sections(
    request: Request,
    session: AdminSession,
    page: str,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[LoadedSection]:
    """The data of each section on `page`, with `overrides[section id]` merged over what
    `load` returned (e.g. a rejected form's values and errors)."""
    loaded = []
    for section in sections_of(request):
        if section.page_id != page:
            continue
        data = dict(await section.load(request, session))
        data.update((overrides or {}).get(section.id, {}))
        loaded.append(LoadedSection(section.id, section.title, section.template, data))
    return loaded
