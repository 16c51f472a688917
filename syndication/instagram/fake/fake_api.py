"""The Graph API endpoints: `/me`, media and comment nodes, and their edges.

As https://developers.facebook.com/docs/instagram-platform/reference/instagram-media,
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
and https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment
document them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from hearth.syndication.instagram.fake.fake_fields import (
    comment_fields,
    media_fields,
    paged_response,
    parse_fields,
    select,
)
from hearth.syndication.instagram.fake.fake_responses import error_response, guard, json_response

if TYPE_CHECKING:
    from hearth.syndication.instagram.fake.fake_state import FakeState


async def me(fake: FakeState, request: Request) -> Response:
    """GET /me: the professional account itself."""
    params, refusal = await guard(fake, request)
    if refusal:
        return refusal
    data = {
        "id": fake.user_id, "user_id": fake.user_id, "username": fake.username,
        "account_type": "BUSINESS", "media_count": len(fake.media),
    }  # fmt: skip
    return json_response(fake, select(data, parse_fields(params.get("fields") or "id")))


async def node(fake: FakeState, request: Request) -> Response:
    """GET a media or comment by id; DELETE a comment (deleting media is refused)."""
    params, refusal = await guard(fake, request)
    if refusal:
        return refusal
    node_id = request.path_params["node"]
    fields = parse_fields(params.get("fields") or "id")
    comment = fake.comments.get(node_id)
    if request.method == "DELETE" and comment is not None:
        fake.delete_comment(node_id)
        return json_response(fake, {"success": True})
    if request.method == "DELETE":  # media deletion is Facebook Login only
        return error_response(fake, 400, -1, "Fatal", subcode=2207073, is_transient=False)
    media = fake.media_by_id(node_id)
    if request.method == "GET" and media is not None:
        return json_response(fake, select(media_fields(fake, media), fields))
    if request.method == "GET" and comment is not None:
        return json_response(fake, select(comment_fields(fake, comment), fields))
    message = f"Unsupported {request.method} request. Object with ID '{node_id}' does not exist"
    return error_response(fake, 400, 100, message, subcode=33)


async def edge(fake: FakeState, request: Request) -> Response:
    """The account's `media`, a carousel's `children`, and `comments` and `replies` (GET, POST)."""
    params, refusal = await guard(fake, request)
    if refusal:
        return refusal
    node_id, edge = request.path_params["node"], request.path_params["edge"]
    media = fake.media_by_id(node_id) if node_id != "me" else None
    comment = fake.comments.get(node_id)
    if node_id in ("me", fake.user_id) and edge == "media" and request.method == "GET":
        since = int(params.get("since") or 0)
        items = [media_fields(fake, m) for m in fake.media]
        items = [m for m in items if _unix(m["timestamp"]) >= since]
        return paged_response(fake, request, params, items, 25)
    if media is not None and edge == "children" and request.method == "GET":
        return paged_response(fake, request, params, media_fields(fake, media)["children"], 100)
    if media is not None and edge == "comments":
        if request.method == "POST":
            return _own_comment(fake, media.id, None, params)
        items = [comment_fields(fake, c) for c in fake.comments_of(media.id)]
        return paged_response(fake, request, params, items, 50)
    if comment is not None and edge == "replies":
        if request.method == "POST":  # "You can only reply to top-level comments."
            return _own_comment(fake, comment.media_id, comment.id, params)
        items = [comment_fields(fake, c) for c in fake.replies_of(comment.id)]
        return paged_response(fake, request, params, items, 50)
    message = f"Unknown path components: /{node_id}/{edge}"
    return error_response(fake, 400, 100, message, subcode=33)


def _own_comment(
    fake: FakeState, media_id: str, parent_id: str | None, params: dict[str, str]
) -> Response:
    """The owner comments through the API: the author is the account itself."""
    if not params.get("message"):
        return error_response(fake, 400, 100, "(#100) The parameter message is required")
    comment_id = fake.add_comment(
        media_id, params["message"], username=fake.username, parent_id=parent_id
    )
    fake.comments[comment_id].from_id = fake.user_id
    return json_response(fake, {"id": comment_id})


def _unix(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())
