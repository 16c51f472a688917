"""The editor's writes, through Micropub's own code: the same functions the endpoint calls.

The signed-in owner acts as a Micropub client would with a token of every scope: the
editor's principal is an unsaved `Token` (never stored, so it can never be presented by
anyone) whose `client_id` is the admin, recorded on the posts it creates. Each request is
checked for its scope and handed to `hearth.micropub.post_actions`, exactly as
`hearth.micropub.endpoint` does after authenticating a bearer token; files go through
`hearth.micropub.uploads`, the endpoint's multipart path into the core's media service.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import UploadFile

from hearth.micropub import auth, post_actions, uploads
from hearth.micropub.lookup import find_post
from hearth.micropub.parsing import MicropubRequest
from hearth.micropub.post_actions import Outcome
from hearth.server.core.media.files import media_url
from hearth.server.core.models import Post, Token
from hearth.server.core.settings import Settings

__all__ = ["owner_principal", "post_at", "store_files", "submit"]

# Everything a Micropub client may be allowed to do.
_SCOPE = "create update delete undelete media"
# Not a SHA-256 (64 hex digits), so it names no real token; receipts are filed under it
# (two identical creates within seconds, a double click, make one post).
_PRINCIPAL_HASH = "admin-editor"


def owner_principal(settings: Settings) -> Token:
    """The owner, signed in to the admin, as a Micropub principal (never saved)."""
    return Token(
        token_hash=_PRINCIPAL_HASH,
        prefix="editor",
        me=settings.url,
        client_id=settings.absolute("admin/posts/new"),
        scope=_SCOPE,
    )


async def submit(settings: Settings, request: MicropubRequest, user_agent: str = "") -> Outcome:
    """Do `request` as the endpoint does (`hearth.micropub.endpoint._act`)."""
    token = owner_principal(settings)
    auth.require_scope(token, request.kind)
    if request.kind == "create":
        return await post_actions.create(settings, token, request, [], None, user_agent=user_agent)
    if request.kind == "update":
        return await post_actions.update(settings, request)
    if request.kind == "delete":
        return await post_actions.delete(settings, request)
    return await post_actions.undelete(settings, request)


async def post_at(settings: Settings, url: str) -> Post:
    """The post a Micropub URL (a create's Location) names."""
    return await find_post(settings, url)


async def store_files(
    settings: Settings, files: Sequence[tuple[str, UploadFile]]
) -> list[tuple[str, str]]:
    """Store `(property, file)` pairs ("photo", "video") as a multipart create would: all or
    none, each checked to be of its kind; `(property, its public URL)` in order."""
    stored = await uploads.store_uploads(settings, files)
    props = [prop for prop, _ in files]
    return [(prop, media_url(settings, media)) for prop, media in zip(props, stored, strict=True)]
