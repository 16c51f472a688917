"""Micropub queries: `GET /micropub?q=...`, each answered with a JSON object.

Spec: https://www.w3.org/TR/micropub/#querying (§3.7): `q=config` (§3.7.1), `q=source`
(§3.7.2), `q=syndicate-to` (§3.7.3). Extensions (https://indieweb.org/Micropub-extensions):
`q=source` without `url` lists posts (`limit`, `after`), `q=category` (with `filter`),
`q=post-types`, and `post-types` and `q` in the config.

What `q=source` and `q=category` give depends on the token's scopes
(`hearth.micropub.read_access`): drafts and non-public posts need `read` or `update`.

Syndication targets are those the features offer (`Feature.syndication_targets`, e.g. a
silo's), which the composition root hands the endpoint; their `uid`s are what
`mp-syndicate-to` names, stored as `Post.syndicate_to`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from tortoise.expressions import Subquery

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.lookup import find_post, no_post, permalink
from hearth.micropub.media_endpoint import media_endpoint_url
from hearth.micropub.parsing import query_source
from hearth.micropub.read_access import may_read, readable_posts
from hearth.server.core import posts
from hearth.server.core.features import SyndicationTarget
from hearth.server.core.models import Post, PostCategory, Token
from hearth.server.core.post_types import SHORT_LETTERS
from hearth.server.core.settings import Settings
from hearth.server.core.timestamps import rfc3339

__all__ = ["SUPPORTED", "Query", "TargetSource", "answer", "syndication_targets"]

_DEFAULT_LIMIT = 20
_MAX_LIMIT = 100
# Post types a client may offer (Post Type Discovery names), with their display names.
POST_TYPES = [{"type": name, "name": name.upper() if name == "rsvp" else name.capitalize()}
              for name in SHORT_LETTERS]  # fmt: skip


TargetSource = Callable[[Settings], Awaitable[Sequence[SyndicationTarget]]]


@dataclass(frozen=True)
class Query:
    """A query as its handler gets it: the site, the parameters, the token that asks (what
    it may read), who offers targets."""

    settings: Settings
    params: QueryParams
    token: Token
    target_sources: Sequence[TargetSource] = ()


async def syndication_targets(query: Query) -> list[dict[str, Any]]:
    """The `syndicate-to` targets, each `{"uid": ..., "name": ...}` (§3.7.3)."""
    found = []
    for source in query.target_sources:
        found += [{"uid": t.uid, "name": t.name} for t in await source(query.settings)]
    return found


def _requested(params: QueryParams) -> list[str]:
    return params.getlist("properties[]") + params.getlist("properties")


def _limit(params: QueryParams) -> int:
    raw = params.get("limit", "")
    if not raw:
        return _DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT:
        raise InvalidRequest(f"limit must be a whole number from 1 to {_MAX_LIMIT}")
    return int(raw)


async def _config(query: Query) -> dict[str, Any]:
    return {
        "media-endpoint": media_endpoint_url(query.settings),
        "syndicate-to": await syndication_targets(query),
        "post-types": POST_TYPES,
        "q": list(SUPPORTED),
    }


async def _syndicate_to(query: Query) -> dict[str, Any]:
    return {"syndicate-to": await syndication_targets(query)}


async def _post_types(query: Query) -> dict[str, Any]:
    return {"post-types": POST_TYPES}


def _source_of(post: Post, requested: list[str]) -> dict[str, Any]:
    """The post as `q=source` gives it: its properties, and `published` if Hearth chose it.

    A post created without `published` still has a publication time (the one its page
    and feeds show); giving it back lets a client show and edit it like any other.
    """
    properties = post.properties
    if not properties.get("published"):
        properties = {**properties, "published": [rfc3339(post.published)]}
    return query_source(properties, post.h_type, requested)


def _item(settings: Settings, post: Post, requested: list[str]) -> dict[str, Any]:
    item = _source_of(post, requested)
    item["properties"]["url"] = [permalink(settings, post)]
    return item


async def _source(query: Query) -> dict[str, Any]:
    """One post's source (§3.7.2), or without `url` a page of posts, newest first."""
    settings, params = query.settings, query.params
    if url := params.get("url"):
        post = await find_post(settings, url)
        if not may_read(query.token, post):
            # Word for word what `find_post` says of a URL with no post.
            raise no_post(url)
        if post.deleted_at is not None:
            raise InvalidRequest(f"{url} is deleted")
        return _source_of(post, _requested(params))
    try:
        page = await posts.page_of(
            readable_posts(query.token), limit=_limit(params), before=params.get("after")
        )
    except posts.CursorError as exc:
        raise InvalidRequest(str(exc)) from None
    answer: dict[str, Any] = {
        "items": [_item(settings, post, _requested(params)) for post in page.posts]
    }
    if page.before:
        answer["paging"] = {"after": page.before}
    return answer


async def _category(query: Query) -> dict[str, Any]:
    """Categories of the posts the token may list, sorted; `filter` keeps those containing it.

    A category only a draft or a private post has is not told to a token that cannot read
    those posts.
    """
    params = query.params
    readable = readable_posts(query.token).values("id")
    rows = PostCategory.filter(post_id__in=Subquery(readable))
    if needle := params.get("filter", "").strip().lower():
        rows = rows.filter(name__contains=needle)
    names = await rows.distinct().order_by("name").values_list("name", flat=True)
    return {"categories": list(names)}


Handler = Callable[[Query], Awaitable[dict[str, Any]]]
SUPPORTED: dict[str, Handler] = {
    "config": _config,
    "source": _source,
    "syndicate-to": _syndicate_to,
    "category": _category,
    "post-types": _post_types,
}


async def answer(query: Query) -> dict[str, Any]:
    """The JSON answer to a query; 400 `invalid_request` for a missing or unknown `q`."""
    q = query.params.get("q", "")
    handler = SUPPORTED.get(q)
    if handler is None:
        known = ", ".join(SUPPORTED)
        raise InvalidRequest(f"unknown query q={q!r}; this endpoint answers q={known}")
    return await handler(query)
