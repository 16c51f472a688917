"""The editor's routes: a new post, any post's editor, delete and undelete.

Every view is the admin's (`require_admin`: signed in, CSRF checked on every POST, the
admin's security headers). The editor works without JavaScript: each button submits the
one form with its own `action` (upload the chosen files, move or remove a photo, preview,
save a draft, publish), and everything short of storing the post re-renders the form with
the values kept (uploaded files as their URLs, in hidden fields). A refused request shows
Micropub's `error_description` above the form, with the endpoint's status (400, or 413 for
a file too large).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hearth.micropub.editor import actions, translate
from hearth.micropub.editor.fields import EditorForm, PhotoField, from_form, from_source
from hearth.micropub.editor.page import EditorPage, render_editor
from hearth.micropub.editor.previews import post_preview
from hearth.micropub.editor.times import in_future
from hearth.micropub.errors import MicropubError
from hearth.micropub.parsing import MicropubRequest, query_source
from hearth.server.admin import redirect, render_admin, require_admin
from hearth.server.admin.sessions import safe_next
from hearth.server.core.models import AdminSession, Post
from hearth.server.core.publication import Status
from hearth.server.core.settings import Settings
from hearth.server.core.timestamps import rfc3339
from hearth.server.core.web import settings_of

__all__ = ["routes"]

_UPLOAD_INPUTS = (("photos", "photo"), ("video-file", "video"))


def opened_form(settings: Settings, post: Post) -> EditorForm:
    """The form a post opens with: its `q=source` properties (`published` included, as the
    endpoint gives it), in the site's time zone."""
    properties = dict(post.properties)
    if not properties.get("published"):
        properties["published"] = [rfc3339(post.published)]
    return from_source(query_source(properties, post.h_type)["properties"], settings.timezone)


def _chosen_files(data: FormData) -> list[tuple[str, UploadFile]]:
    # A browser's empty file input arrives as a nameless, empty part.
    return [
        (prop, value)
        for name, prop in _UPLOAD_INPUTS
        for value in data.getlist(name)
        if isinstance(value, UploadFile) and (value.filename or value.size)
    ]


def _rearrange(photos: list[PhotoField], action: str) -> None:
    """Apply "up:N", "down:N" or "remove:N" (photo N, counted from 1) to the list."""
    verb, _, number = action.partition(":")
    index = int(number) - 1 if number.isdigit() else -1
    if not 0 <= index < len(photos):
        return
    if verb == "remove":
        del photos[index]
    elif verb == "up" and index > 0:
        photos[index - 1], photos[index] = photos[index], photos[index - 1]
    elif verb == "down" and index < len(photos) - 1:
        photos[index + 1], photos[index] = photos[index], photos[index + 1]


def _status(action: str, form: EditorForm, post: Post | None) -> str:
    """Save draft makes a draft; the main button publishes, except on a published post,
    where it is Update and keeps the Status field's choice (Draft takes it back)."""
    if action == "draft":
        return "draft"
    if post is not None and post.status == Status.PUBLISHED:
        return form.status
    return "published"


async def _upload(settings: Settings, data: FormData, page: EditorPage) -> bool:
    """Store the chosen files into the form (photos appended, the video replaced)."""
    files = _chosen_files(data)
    for prop, url in await actions.store_files(settings, files):
        if prop == "photo":
            page.form.photos.append(PhotoField(url))
        else:
            page.form.video = url
    if files:
        page.notice = f"Uploaded {len(files)} file{'s' if len(files) != 1 else ''}."
    return bool(files)


def _request_for(
    settings: Settings, form: EditorForm, post: Post | None, status: str
) -> MicropubRequest | None:
    """The Micropub create, or the update of what changed (None: nothing did)."""
    zone = settings.timezone
    if post is None:
        return translate.create_request(form, zone, status)
    opened = opened_form(settings, post)
    return translate.update_request(
        settings.absolute(post.path), post.properties,
        (opened, Status(post.status).value), (form, status), zone,
    )  # fmt: skip


def _done(settings: Settings, form: EditorForm, post: Post | None, status: str) -> str:
    """The notice after saving (see `page.NOTICES`)."""
    if status == "draft":
        return "draft"
    if in_future(form.published, settings.timezone):
        return "scheduled"
    return "published" if post is None or post.status == Status.DRAFT else "updated"


async def _save(request: Request, session: AdminSession, page: EditorPage, action: str) -> Response:
    """Preview, or carry out, the create or update the form asks for."""
    settings, form, post = settings_of(request), page.form, page.post
    status = _status(action, form, post)
    micropub = _request_for(settings, form, post, status)
    if action == "preview":
        page.preview = post_preview(settings, micropub, post)
        return await render_editor(request, session, page)
    if micropub is None and post is not None:
        return redirect(f"/admin/posts/{post.id}/edit?done=unchanged")
    saved = post
    if micropub is not None:
        agent = request.headers.get("user-agent", "")
        outcome = await actions.submit(settings, micropub, agent)
        if outcome.location:  # a create, or a slug that moved
            saved = await actions.post_at(settings, outcome.location)
    target = f"/admin/posts/{saved.id}/edit" if saved is not None else "/admin/posts/new"
    return redirect(f"{target}?done={_done(settings, form, post, status)}")


async def _handle(request: Request, session: AdminSession, post: Post | None) -> Response:
    """A submit of the editor: whichever button was pressed (Enter: the first, Upload)."""
    settings = settings_of(request)
    data = await request.form()
    action = str(data.get("action") or "upload")
    page = EditorPage(from_form(data), post)
    try:
        uploaded = await _upload(settings, data, page)
        if uploaded and action in ("publish", "draft") and page.notice:
            # Chosen photos are shown with their alt text fields before anything is posted.
            page.notice += " Add alt text to each photo, then publish."
            return await render_editor(request, session, page)
        if action == "remove-video":
            page.form.video = ""
        if action not in ("preview", "publish", "draft"):
            _rearrange(page.form.photos, action)
            return await render_editor(request, session, page)
        return await _save(request, session, page, action)
    except MicropubError as exc:
        page.error = exc.description or exc.error
        page.status_code = exc.status
        return await render_editor(request, session, page)


async def _find(request: Request, session: AdminSession) -> Post | Response:
    post = await Post.get_or_none(id=request.path_params["post_id"])
    if post is None:
        return render_admin(
            request,
            "admin/error.html",
            {"heading": "Not found", "message": "There is no such post.", "signed_in": True,
             "csrf_token": session.csrf_token},
            status_code=404,
        )  # fmt: skip
    return post


@require_admin
async def new_post(request: Request, session: AdminSession) -> Response:
    if request.method == "POST":
        return await _handle(request, session, None)
    return await render_editor(request, session, EditorPage(EditorForm()))


@require_admin
async def edit_post(request: Request, session: AdminSession) -> Response:
    found = await _find(request, session)
    if isinstance(found, Response):
        return found
    if request.method == "POST":
        return await _handle(request, session, found)
    form = opened_form(settings_of(request), found)
    return await render_editor(request, session, EditorPage(form, found))


def _back(request: Request, data: FormData, post: Post, done: str) -> str:
    """Where a delete or undelete returns: the form's `next`, else the admin page it came
    from (its Referer), else the post's editor."""
    given = data.get("next")
    if isinstance(given, str) and (path := safe_next(given)):
        return path
    referer = urlsplit(request.headers.get("referer", ""))
    own = urlsplit(settings_of(request).url)
    if referer.netloc == own.netloc and referer.path.startswith("/admin/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return f"/admin/posts/{post.id}/edit?done={done}"


async def _set_deleted(request: Request, session: AdminSession, kind: str) -> Response:
    found = await _find(request, session)
    if isinstance(found, Response):
        return found
    settings = settings_of(request)
    try:
        url = settings.absolute(found.path)
        await actions.submit(settings, translate.action_request(kind, url))
    except MicropubError as exc:
        page = EditorPage(opened_form(settings, found), found, error=exc.description or exc.error)
        page.status_code = exc.status
        return await render_editor(request, session, page)
    return redirect(_back(request, await request.form(), found, f"{kind}d"))


@require_admin
async def delete_post(request: Request, session: AdminSession) -> Response:
    return await _set_deleted(request, session, "delete")


@require_admin
async def undelete_post(request: Request, session: AdminSession) -> Response:
    return await _set_deleted(request, session, "undelete")


_POST = "/admin/posts/{post_id:int}"
routes = [
    Route("/admin/posts/new", new_post, methods=["GET", "POST"], name="editor_new"),
    Route(f"{_POST}/edit", edit_post, methods=["GET", "POST"], name="editor_edit"),
    Route(f"{_POST}/delete", delete_post, methods=["POST"], name="editor_delete"),
    Route(f"{_POST}/undelete", undelete_post, methods=["POST"], name="editor_undelete"),
]
