"""`fields=` expansion: a node's full field set, the requested selection and cursor paging.

Media and comments render to every field they have; `select` keeps only the fields a call
asked for, expanding edges as `{"data": [...]}`; `paged_response` slices a list edge with
`paging.cursors` (https://developers.facebook.com/docs/graph-api/results).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from hearth.syndication.instagram.fake.fake_records import FakeComment, FakeMedia
from hearth.syndication.instagram.fake.fake_responses import error_response, json_response

if TYPE_CHECKING:
    from hearth.syndication.instagram.fake.fake_state import FakeState


def parse_fields(spec: str) -> dict[str, Any]:
    """`id,children{id,media_type}` -> {"id": None, "children": {"id": None, ...}}."""
    return _parse_fields(spec, 0)[0]


def _parse_fields(spec: str, i: int) -> tuple[dict[str, Any], int]:
    fields: dict[str, Any] = {}
    name = ""
    while i < len(spec):
        char, i = spec[i], i + 1
        if char == "{":
            fields[name.strip()], i = _parse_fields(spec, i)
            name = ""
        elif char in ",}":
            if name.strip():
                fields[name.strip()] = None
            name = ""
            if char == "}":
                return fields, i
        else:
            name += char
    if name.strip():
        fields[name.strip()] = None
    return fields, i


def media_fields(fake: FakeState, item: FakeMedia) -> dict[str, Any]:
    """Every field of a media, its children and comments included as lists."""
    ext = "mp4" if item.media_type == "VIDEO" else "jpg"
    data: dict[str, Any] = {
        "id": item.id, "media_type": item.media_type, "timestamp": item.timestamp,
        "media_url": f"{fake.base}cdn/{item.id}.{ext}", "username": fake.username,
        "owner": {"id": fake.user_id},
    }  # fmt: skip
    if item.media_type == "VIDEO":  # "Only available on VIDEO media."
        data["thumbnail_url"] = f"{fake.base}cdn/{item.id}.jpg"
    if item.is_child:  # children have no caption, permalink or counts
        return data | ({"alt_text": item.alt_text} if item.alt_text else {})
    data |= {
        "media_product_type": item.media_product_type, "shortcode": item.shortcode,
        "permalink": f"{fake.base}p/{item.shortcode}/", "like_count": item.like_count,
        "comments_count": sum(c.media_id == item.id for c in fake.comments.values()),
        "is_comment_enabled": True,
    }  # fmt: skip
    data |= {"caption": item.caption} if item.caption is not None else {}
    data |= {"alt_text": item.alt_text} if item.alt_text else {}
    data["children"] = [media_fields(fake, child) for child in item.children]
    data["comments"] = [comment_fields(fake, c) for c in fake.comments_of(item.id)]
    return data


def comment_fields(fake: FakeState, comment: FakeComment) -> dict[str, Any]:
    """Every field of a comment; a top-level comment's replies included as a list."""
    data: dict[str, Any] = {
        "id": comment.id, "text": comment.text, "timestamp": comment.timestamp,
        "username": comment.username, "like_count": comment.like_count,
        "from": {"id": comment.from_id, "username": comment.username},
        "hidden": comment.hidden, "media": {"id": comment.media_id},
    }  # fmt: skip
    if comment.parent_id:
        data["parent_id"] = comment.parent_id
    else:
        data["replies"] = [comment_fields(fake, c) for c in fake.replies_of(comment.id)]
    return data


def select(data: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """Only the requested fields; edges (lists) expand as `{"data": [...]}`."""
    selected: dict[str, Any] = {}
    for name, sub in fields.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, list):
            value = {"data": [select(v, sub or {"id": None}) for v in value]}
        selected[name] = value
    return selected


def paged_response(
    fake: FakeState,
    request: Request,
    params: dict[str, str],
    items: list[dict[str, Any]],
    limit: int,
) -> Response:
    """A page of `items` with `paging.cursors` and, unless last, `paging.next`."""
    ids = [item["id"] for item in items]
    after = params.get("after")
    if after:
        decoded = base64.urlsafe_b64decode(after.encode()).decode()
        if decoded not in ids:
            return error_response(fake, 400, 100, "Invalid cursor", subcode=None)
        items = items[ids.index(decoded) + 1 :]
    limit = max(1, min(int(params.get("limit") or limit), 100))
    page = items[:limit]
    fields = parse_fields(params.get("fields") or "id")
    body: dict[str, Any] = {"data": [select(item, fields) for item in page]}
    if page:
        body["paging"] = {"cursors": {"before": _cursor(page[0]), "after": _cursor(page[-1])}}
        if len(items) > limit:
            query = {**params, "after": body["paging"]["cursors"]["after"]}
            url = request.url.replace(query=None)
            body["paging"]["next"] = str(url.include_query_params(**query))
    return json_response(fake, body)


def _cursor(item: dict[str, Any]) -> str:
    """An opaque cursor for an item: its id, base64url-encoded."""
    return base64.urlsafe_b64encode(str(item["id"]).encode()).decode()
