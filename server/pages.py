"""The public site: home page with h-card and h-feed, permalinks, tag pages, short links.

Microformats2: https://microformats.org/wiki/h-entry, https://microformats.org/wiki/h-feed
Permashortlinks: https://indieweb.org/permashortlink
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tortoise.queryset import QuerySet

from hearth.server.core import posts
from hearth.server.core.caching import conditional
from hearth.server.core.features import Feature, PermalinkNote
from hearth.server.core.models import PathRedirect, Post
from hearth.server.core.render import entry_view
from hearth.server.core.site_links import SiteLink
from hearth.server.core.web import error_page, render, settings_of
from hearth.server.feeds import hub_links
from hearth.server.webmention.display import counts_for, responses_for


def _newest(items: list[Post]) -> datetime | None:
    return max((p.modified_at for p in items), default=None)


async def _paged_feed(
    request: Request,
    query: QuerySet[Post],
    template: str,
    *,
    page_links: list[SiteLink] | None = None,
    **extra: object,
) -> Response:
    settings = settings_of(request)
    try:
        page = await posts.page_of(
            query,
            limit=settings.page_size,
            before=request.query_params.get("before"),
            after=request.query_params.get("after"),
        )
    except posts.CursorError as exc:
        return await error_page(request, 400, "Bad page cursor", str(exc))
    base = str(request.url.replace(query=""))
    links = list(page_links or [])
    if page.before:
        links.append(SiteLink("next", f"{base}?before={page.before}"))
    if page.after:
        links.append(SiteLink("prev", f"{base}?after={page.after}"))
    context = {
        "entries": [entry_view(post, settings) for post in page.posts],
        "counts": await counts_for(page.posts),
        "page": page,
        "base": base,
        **extra,
    }
    response = await render(request, template, context, links=links)
    return conditional(request, response, _newest(page.posts))


async def home(request: Request) -> Response:
    # The first page is the WebSub topic, so it names its hub and itself.
    first_page = not (request.query_params.get("before") or request.query_params.get("after"))
    hub = hub_links(settings_of(request)) if first_page else []
    return await _paged_feed(
        request, posts.public_posts(), "home.html", page_links=hub, feed_name="Posts"
    )


async def tag(request: Request) -> Response:
    name = request.path_params["name"].strip().lower()
    query = posts.public_posts().filter(category_rows__name=name)
    return await _paged_feed(request, query, "tag.html", tag=name)


async def permalink(request: Request) -> Response:
    path = "/".join(request.path_params[k] for k in ("year", "month", "slug"))
    post = await posts.find_by_path(path)
    if post is None:
        moved = await PathRedirect.get_or_none(path=path).prefetch_related("post")
        if moved is not None:
            return RedirectResponse(settings_of(request).absolute(moved.post.path), 301)
        return await not_found(request)
    return await show_post(request, post)


async def show_post(request: Request, post: Post) -> Response:
    """A post's page: the h-entry, a tombstone when deleted, 404 for drafts and private."""
    settings = settings_of(request)
    if post.deleted_at is not None:
        return await error_page(request, 410, "Deleted", "This post was deleted.")
    if not post.has_page:
        return await not_found(request)
    view = entry_view(post, settings)
    shortlink = SiteLink("shortlink", view.short_url)
    responses = await responses_for(post)
    context = {"e": view, "responses": responses, "notes": await _notes(request, post)}
    response = await render(request, "entry.html", context, links=[shortlink])
    # A new reply changes the page although the post did not: Last-Modified covers both.
    changed = max(post.modified_at, responses.updated or post.modified_at)
    return conditional(request, response, changed)


async def _notes(request: Request, post: Post) -> list[PermalinkNote]:
    """What the features (silos) add under the permalink, e.g. a like count elsewhere."""
    found: list[PermalinkNote] = []
    for notes_for in request.app.state.permalink_notes:
        found.extend(await notes_for(post))
    return found


async def shortlink(request: Request) -> Response:
    code = request.path_params["code"]
    post = await posts.find_by_short_code(code)
    if post is None:
        return await not_found(request)
    if post.deleted_at is not None:
        return await error_page(request, 410, "Deleted", "This post was deleted.")
    if not post.has_page:
        return await not_found(request)
    target = settings_of(request).absolute(post.path)
    return RedirectResponse(target, 301, headers={"Link": f'<{target}>; rel="canonical"'})


async def not_found(request: Request, exc: Exception | None = None) -> Response:
    return await error_page(request, 404, "Not found", "There is no page at this address.")


routes = [
    Route("/", home, name="home"),
    Route("/tag/{name:path}", tag, name="tag"),
    Route("/s/{code}", shortlink, name="shortlink"),
    Route("/{year}/{month}/{slug}", permalink, name="permalink"),
]

# The site's pages, mounted after every other route: the permalink pattern would otherwise
# shadow other three-part paths.
FEATURE = Feature("pages", routes=routes, routes_last=True)
