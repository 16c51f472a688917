"""The tags page, `/tags`: every tag of the public posts, with how many posts carry it.

Each links to its tag page (`/tag/{name}`, in `hearth.server.pages`), which lists the same
posts: public ones only, whoever looks (https://indieweb.org/tags).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from tortoise.expressions import Subquery
from tortoise.functions import Count

from hearth.server.core import posts
from hearth.server.core.caching import share
from hearth.server.core.models import PostCategory
from hearth.server.core.page_generations import LISTINGS
from hearth.server.core.web import render


@dataclass(frozen=True)
class TagCount:
    name: str
    count: int


async def tag_counts() -> list[TagCount]:
    """Every tag of a public post (lower-cased, as tag pages match them), by name."""
    public_ids = Subquery(posts.public_posts().values("id"))
    rows = (
        await PostCategory.filter(post_id__in=public_ids)
        .annotate(count=Count("id"))
        .group_by("name")
        .order_by("name")
        .values("name", "count")
    )
    return [TagCount(str(row["name"]), int(row["count"])) for row in rows]


async def tags_page(request: Request) -> Response:
    response = await render(request, "tags.html", {"tags": await tag_counts()})
    share(request, response, LISTINGS)
    return response
