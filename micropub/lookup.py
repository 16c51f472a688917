"""Finding the post a Micropub `url` names: this site's permalinks and short links only.

Spec: https://www.w3.org/TR/micropub/#update (§3.4), https://www.w3.org/TR/micropub/#delete
(§3.5) and https://www.w3.org/TR/micropub/#source-content (§3.7.2) all name the post by `url`;
an unknown post is 400 `invalid_request` (§3.7.2, Example 25).

Accepted: the permalink as the `Location` of the create gave it (micropub.rocks reuses it
verbatim), a former permalink that now redirects after a slug change, and the short link
`/s/CODE`. The scheme may be http or https and the host any case; query and fragment are
ignored. Anything else, including another site's URL, is refused with a description.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from hearth.micropub.errors import InvalidRequest
from hearth.server.core import posts
from hearth.server.core.models import PathRedirect, Post
from hearth.server.core.settings import Settings

__all__ = ["find_post", "no_post", "permalink", "shortlink", "site_path"]


def permalink(settings: Settings, post: Post) -> str:
    """The post's absolute URL, as sent in `Location`."""
    return settings.absolute(post.path)


def shortlink(settings: Settings, post: Post) -> str:
    """The post's permashortlink, as sent in `Link: <...>; rel="shortlink"`."""
    return settings.absolute(f"s/{post.short_code}")


def site_path(settings: Settings, url: str) -> str:
    """The site-relative path of `url` (no leading or trailing slash), or 400 if not ours."""
    parts = urlsplit(url.strip())
    site = urlsplit(settings.url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidRequest(f"url must be an absolute http(s) URL of a post, got {url!r}")
    if parts.netloc.lower() != site.netloc.lower() or not parts.path.startswith(site.path):
        raise InvalidRequest(f"{url} is not on this site ({settings.url})")
    return unquote(parts.path[len(site.path) :]).strip("/")


def no_post(url: str) -> InvalidRequest:
    """The error for a URL with no post (also for one the token may not know of)."""
    return InvalidRequest(f"there is no post at {url}")


async def find_post(settings: Settings, url: str) -> Post:
    """The post `url` names, deleted or not; 400 `invalid_request` when there is none."""
    path = site_path(settings, url)
    post: Post | None
    if path.startswith("s/") and path.count("/") == 1:
        post = await posts.find_by_short_code(path.removeprefix("s/"))
    else:
        post = await posts.find_by_path(path)
        if post is None:
            moved = await PathRedirect.get_or_none(path=path).prefetch_related("post")
            post = moved.post if moved is not None else None
    if post is None:
        raise no_post(url)
    return post
