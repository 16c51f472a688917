"""The public site: home page with h-card and h-feed, permalinks, tag pages, short links.

Microformats2: https://microformats.org/wiki/h-entry, https://microformats.org/wiki/h-feed
Permashortlinks: https://indieweb.org/permashortlink

The home page, permalinks, short links and former paths show private posts to who may see
them (`hearth.server.core.post_access`); tag pages, like the feeds, list public posts only.
Every answer that depends on the viewer goes out marked so (`varies_by_viewer`: Vary:
Cookie, and `Cache-Control: private` for a signed-in viewer), redirects included: a shared
cache must never hand one viewer's answer to another.

Each page is offered to the site's own page cache (`hearth.server.core.page_cache`), which
keeps it for readers without cookies only: listings under the listings' generation, a post's
permalink, tombstone and short link under the post's (`core.page_generations`).
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tortoise.queryset import QuerySet

from hearth.server.contexts import with_contexts
from hearth.server.core import posts
from hearth.server.core.caching import conditional, share
from hearth.server.core.features import Feature, PermalinkNote
from hearth.server.core.models import PathRedirect, Post
from hearth.server.core.page_generations import LISTINGS, post_scope
from hearth.server.core.post_access import Access, access_to, listed_for
from hearth.server.core.publication import Visibility
from hearth.server.core.render import entry_view
from hearth.server.core.scheduled import last_shown_change
from hearth.server.core.site_links import SiteLink
from hearth.server.core.viewers import Viewer, varies_by_viewer, viewer_of
from hearth.server.core.web import error_page, render, settings_of
from hearth.server.feeds import hub_links
from hearth.server.tags import tags_page
from hearth.server.webmention.display import counts_for, responses_for


def _newest(items: list[Post]) -> datetime | None:
    # Also each post's `published`: a scheduled post appearing changes the page, not its row.
    return last_shown_change(items)


def _validator_time(viewer: Viewer, changed: datetime | None) -> datetime | None:
    """Last-Modified for a page, or None for a signed-in viewer, whose page is validated by
    its ETag only: a date cannot tell one viewer's page from another's (a private post older
    than the newest public one), and a browser may revalidate one viewer's copy for another
    (signing in or out on the same browser); the ETag hashes the page each one gets."""
    return None if viewer.signed_in else changed


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
    # From HEARTH_URL, never from the request: its Host header is whatever the client sent.
    base = settings.absolute(request.url.path)
    links = list(page_links or [])
    if page.before:
        links.append(SiteLink("next", f"{base}?before={page.before}"))
    if page.after:
        links.append(SiteLink("prev", f"{base}?after={page.after}"))
    context = {
        "entries": await with_contexts([entry_view(post, settings) for post in page.posts]),
        "counts": await counts_for(page.posts),
        "page": page,
        "base": base,
        **extra,
    }
    response = await render(request, template, context, links=links)
    viewer = await viewer_of(request)
    changed = _validator_time(viewer, _newest(page.posts))
    return conditional(request, response, changed, shared_as=LISTINGS)


async def home(request: Request) -> Response:
    """The h-feed: public posts, and the private ones this viewer may see (paged alike,
    since the cursors name a post of the viewer's own list)."""
    # The first page is the WebSub topic, so it names its hub and itself.
    first_page = not (request.query_params.get("before") or request.query_params.get("after"))
    hub = hub_links(settings_of(request)) if first_page else []
    query = listed_for(await viewer_of(request))
    return await _paged_feed(request, query, "home.html", page_links=hub, feed_name="Posts")


async def tag(request: Request) -> Response:
    """A tag's posts: public ones only, whoever looks (a tag is a public topic page)."""
    name = request.path_params["name"].strip().lower()
    query = posts.public_posts().filter(category_rows__name=name)
    return await _paged_feed(request, query, "tag.html", tag=name)


async def permalink(request: Request) -> Response:
    path = "/".join(request.path_params[k] for k in ("year", "month", "slug"))
    post = await posts.find_by_path(path)
    if post is None:
        moved = await PathRedirect.get_or_none(path=path).prefetch_related("post")
        if moved is not None:
            # Only to a page the viewer may reach: the new path of a post they may not see
            # would tell its slug.
            return await _redirect(request, moved.post)
        return await not_found(request)
    return await show_post(request, post)


async def _redirect(request: Request, post: Post) -> Response:
    """301 to `post`'s permalink if the viewer may see it or its tombstone, else 404."""
    viewer = await viewer_of(request)
    if await access_to(viewer, post) == Access.NOT_FOUND:
        return await not_found(request)
    return _moved(request, viewer, post)


def _moved(request: Request, viewer: Viewer, post: Post) -> Response:
    target = settings_of(request).absolute(post.path)
    response = RedirectResponse(target, 301, headers={"Link": f'<{target}>; rel="canonical"'})
    return varies_by_viewer(response, viewer)


async def show_post(request: Request, post: Post) -> Response:
    """A post's page for this viewer: the h-entry, a tombstone when a public post was
    deleted, and 404 for whatever they may not see (drafts, others' private posts)."""
    settings = settings_of(request)
    viewer = await viewer_of(request)
    access = await access_to(viewer, post)
    if access == Access.GONE:
        return await _tombstone(request, post)
    if access == Access.NOT_FOUND:
        return await not_found(request)
    view = (await with_contexts([entry_view(post, settings)]))[0]
    shortlink = SiteLink("shortlink", view.short_url)
    responses = await responses_for(post)
    context = {"e": view, "responses": responses, "notes": await _notes(request, post)}
    # A private post's page is for its audience: search engines must not keep it either.
    headers = {"X-Robots-Tag": "noindex"} if post.visibility == Visibility.PRIVATE else None
    response = await render(request, "entry.html", context, links=[shortlink], headers=headers)
    # A new reply changes the page although the post did not: Last-Modified covers both.
    changed = max(post.modified_at, post.published, responses.updated or post.modified_at)
    return conditional(
        request, response, _validator_time(viewer, changed), shared_as=post_scope(post.id)
    )


async def _tombstone(request: Request, post: Post) -> Response:
    response = await error_page(request, 410, "Deleted", "This post was deleted.")
    share(request, response, post_scope(post.id))
    return response


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
    viewer = await viewer_of(request)
    access = await access_to(viewer, post)
    if access == Access.GONE:
        return await _tombstone(request, post)
    if access == Access.NOT_FOUND:
        return await not_found(request)
    response = _moved(request, viewer, post)
    share(request, response, post_scope(post.id))
    return response


async def not_found(request: Request, exc: Exception | None = None) -> Response:
    return await error_page(request, 404, "Not found", "There is no page at this address.")


routes = [
    Route("/", home, name="home"),
    Route("/tags", tags_page, name="tags"),
    Route("/tag/{name:path}", tag, name="tag"),
    Route("/s/{code}", shortlink, name="shortlink"),
    Route("/{year}/{month}/{slug}", permalink, name="permalink"),
]

# The site's pages, mounted after every other route: the permalink pattern would otherwise
# shadow other three-part paths.
FEATURE = Feature("pages", routes=routes, routes_last=True)
