"""Rendering the editor page: the form, what it says about the post, and its previews."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from hearth.micropub.editor.fields import LINK_FIELDS, STATUSES, VISIBILITIES, EditorForm
from hearth.micropub.editor.previews import link_previews
from hearth.micropub.editor.times import in_future
from hearth.server.admin import render_admin
from hearth.server.admin.dashboard import pages_of
from hearth.server.admin.responses import CONTENT_SECURITY_POLICY
from hearth.server.core.features import SyndicationTarget
from hearth.server.core.models import AdminSession, Post, PostCategory
from hearth.server.core.publication import Status
from hearth.server.core.render import EntryView, owner_card
from hearth.server.core.web import settings_of

__all__ = ["EditorPage", "primary_label", "render_editor"]

# What the page says after a redirect back (?done=...): a fixed list, never echoed input.
NOTICES = {
    "published": "Published.",
    "scheduled": "Scheduled: the post appears at its publication time.",
    "draft": "Draft saved. Only you can see it, here.",
    "updated": "Updated.",
    "unchanged": "Nothing changed.",
    "deleted": "Deleted. Its page now answers 410 Gone; Undelete brings it back.",
    "undeleted": "Undeleted: the post is back at its address.",
}


@dataclass
class EditorPage:
    """One rendering of the editor: the form's values and what to say around them."""

    form: EditorForm
    post: Post | None = None
    error: str | None = None
    notice: str | None = None
    preview: EntryView | None = None
    status_code: int = 200


# The admin's policy plus the site's own scripts: /static/editor.js relabels the main button
# (Schedule) as soon as a time to come is typed; the form works the same without it.
EDITOR_POLICY = CONTENT_SECURITY_POLICY + "; script-src 'self'"


def label_for_now(post: Post | None) -> str:
    """The main button's label when the time is not to come: Update or Publish."""
    if post is not None and post.status == Status.PUBLISHED and post.deleted_at is None:
        return "Update"
    return "Publish"


def primary_label(form: EditorForm, post: Post | None, zone: str) -> str:
    """Schedule for a time to come, Update for a published post, else Publish."""
    return "Schedule" if in_future(form.published, zone) else label_for_now(post)


async def _targets(request: Request) -> list[SyndicationTarget]:
    settings = settings_of(request)
    found: list[SyndicationTarget] = []
    for source in request.app.state.syndication_targets:
        found.extend(await source(settings))
    return found


async def render_editor(request: Request, session: AdminSession, page: EditorPage) -> Response:
    settings = settings_of(request)
    post, form = page.post, page.form
    tags = await PostCategory.all().distinct().order_by("name").values_list("name", flat=True)
    posts_page = next((p for p in pages_of(request) if p.id == "posts"), None)
    done = request.query_params.get("done", "")
    context = {
        "signed_in": True,
        "csrf_token": session.csrf_token,
        "page": posts_page,
        "form": form,
        "post": post,
        "post_url": settings.absolute(post.path) if post is not None else None,
        "action_url": f"/admin/posts/{post.id}/edit" if post is not None else "/admin/posts/new",
        "error": page.error,
        "notice": page.notice or NOTICES.get(done),
        "preview": page.preview,
        "owner": await owner_card(settings),
        "site_url": settings.url,
        "contexts": await link_previews(request.app.state.http, form),
        "link_fields": LINK_FIELDS,
        "statuses": STATUSES,
        "visibilities": VISIBILITIES,
        "tag_suggestions": list(tags),
        "targets": await _targets(request) if post is None else [],
        "zone": settings.timezone,
        "primary": primary_label(form, post, settings.timezone),
        "label_for_now": label_for_now(post),
        "deleted": post is not None and post.deleted_at is not None,
    }
    return render_admin(
        request,
        "editor/edit.html",
        context,
        status_code=page.status_code,
        headers={"Content-Security-Policy": EDITOR_POLICY},
    )
