"""A client for the Instagram API with Instagram Login (graph.instagram.com).

Meta's docs: https://developers.facebook.com/docs/instagram-platform. Tokens:
https://developers.facebook.com/docs/instagram-platform/reference/access_token and
https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token; media
fields and the `children` and `comments` edges:
https://developers.facebook.com/docs/instagram-platform/reference/instagram-media; the
account's media list:
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
with cursor paging (https://developers.facebook.com/docs/graph-api/results); errors:
https://developers.facebook.com/docs/graph-api/guides/error-handling; rate limits:
https://developers.facebook.com/docs/graph-api/overview/rate-limiting.

Every call goes through the shared guarded client
(`hearth.server.core.http.create_http_client`) and reads the body with `fetch`'s size limit.
The access token travels as the documented `access_token` parameter, so it is redacted from
every error message and from httpx's request log; exceptions from httpx are re-raised as
`TemporaryError`/`InstagramError` without chaining, because their text holds the URL. After
each response `usage` holds what the usage headers said, so callers can pause before Instagram
refuses. What the calls return (`Media`, `Comment`, `Token`, ...) and how it is read from the
JSON lives in `graph`.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from starlette.datastructures import Secret

from hearth.server.core.http import BlockedAddressError, ResponseTooLarge, fetch
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.api_errors import (
    InstagramError,
    TemporaryError,
    Usage,
    error_from_response,
    redact,
    usage_from_headers,
)
from hearth.syndication.instagram.graph import (
    Account,
    Comment,
    Media,
    MediaPage,
    Token,
    read_comment,
    read_media,
    read_paging,
    read_token,
)
from hearth.syndication.instagram.silo_settings import instagram

DEFAULT_API_URL = "https://graph.instagram.com"
# The authorization code is exchanged on another host.
DEFAULT_OAUTH_URL = "https://api.instagram.com"
# Graph API default page size is 25; comments come at most 50 per page.
MEDIA_PAGE_SIZE = 25
COMMENT_PAGE_SIZE = 50
# `caption` is documented as Facebook Login only but works with Instagram Login.
CHILD_FIELDS = "id,media_type,media_url,thumbnail_url,alt_text"
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,thumbnail_url,permalink,shortcode,"
    f"timestamp,like_count,comments_count,alt_text,children{{{CHILD_FIELDS}}}"
)
REPLY_FIELDS = "id,text,timestamp,username,from,parent_id,like_count,hidden"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies{{{REPLY_FIELDS}}}"


class InstagramClient:
    """Instagram API calls made with one account's token.

    The token never changes in place: after `refresh_token()` make a new client with the new
    one. Without a token only `exchange_code` and `long_lived_token` make sense.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        access_token: str | Secret | None = None,
        *,
        oauth_url: str | None = None,
    ) -> None:
        self._http = http
        self._settings = settings
        self._token = str(access_token or "")
        root = instagram(settings).api_url.rstrip("/")
        self._root = root
        self._base = (
            f"{root}/{instagram(settings).api_version}" if instagram(settings).api_version else root
        )
        # A fake or proxy at another URL serves the OAuth endpoint too.
        self._oauth = (
            oauth_url or (DEFAULT_OAUTH_URL if root == DEFAULT_API_URL else root)
        ).rstrip("/")
        self.usage: Usage | None = None

    # Reading -------------------------------------------------------------------------------

    async def me(self) -> Account:
        data = await self._get("/me", fields="user_id,username")
        return Account(id=str(data.get("user_id") or data["id"]), username=str(data["username"]))

    async def list_media(
        self, after: str | None = None, *, limit: int = MEDIA_PAGE_SIZE, since: int | None = None
    ) -> MediaPage:
        """One page of the account's media, newest first; `since` is a Unix time."""
        params: dict[str, Any] = {"fields": MEDIA_FIELDS, "limit": limit}
        params |= {k: v for k, v in (("after", after), ("since", since)) if v is not None}
        data = await self._get("/me/media", **params)
        cursor, has_next = read_paging(data)
        return MediaPage(tuple(read_media(item) for item in data.get("data", [])), cursor, has_next)

    async def media(self, media_id: str) -> Media:
        return read_media(await self._get(f"/{_id(media_id)}", fields=MEDIA_FIELDS))

    async def children(self, media_id: str) -> list[Media]:
        """A carousel's items in order."""
        data = await self._get(f"/{_id(media_id)}/children", fields=CHILD_FIELDS)
        return [read_media(item) for item in data.get("data", [])]

    async def comments(self, media_id: str) -> list[Comment]:
        """Every top-level comment with its replies, newest first, across all pages."""
        return await self._all_comments(f"/{_id(media_id)}/comments", COMMENT_FIELDS)

    async def replies(self, comment_id: str) -> list[Comment]:
        return await self._all_comments(f"/{_id(comment_id)}/replies", REPLY_FIELDS)

    # Writing -------------------------------------------------------------------------------

    async def create_comment(self, media_id: str, message: str) -> str:
        """Comment on a media as the owner; returns the new comment's id."""
        data = await self._call("POST", f"/{_id(media_id)}/comments", {"message": message})
        return str(data["id"])

    async def reply(self, comment_id: str, message: str) -> str:
        data = await self._call("POST", f"/{_id(comment_id)}/replies", {"message": message})
        return str(data["id"])

    async def delete_comment(self, comment_id: str) -> None:
        data = await self._call("DELETE", f"/{_id(comment_id)}", {})
        if data.get("success") is not True:
            raise InstagramError(f"DELETE /{comment_id}: Instagram did not confirm the deletion")

    # Tokens --------------------------------------------------------------------------------

    async def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """Trade an authorization code for a short-lived token (strip a trailing `#_` first)."""
        form = {
            "client_id": instagram(self._settings).app_id or "",
            "client_secret": self._secret(),
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code.removesuffix("#_"),
        }
        data = await self._call("POST", "/oauth/access_token", form, base=self._oauth, token=False)
        # Documented as {"data": [{...}]}; many clients receive the flat object.
        if isinstance(data.get("data"), list) and data["data"]:
            data = data["data"][0]
        return read_token(data)

    async def long_lived_token(self, short_lived: str | Secret) -> Token:
        """Exchange a short-lived token for a 60-day one."""
        params = {"grant_type": "ig_exchange_token", "client_secret": self._secret()}
        params["access_token"] = str(short_lived)
        return read_token(
            await self._call("GET", "/access_token", params, base=self._root, token=False)
        )

    async def refresh_token(self) -> Token:
        """A fresh 60-day token for this client's (at least a day old, unexpired) token."""
        params = {"grant_type": "ig_refresh_token"}
        return read_token(await self._call("GET", "/refresh_access_token", params, base=self._root))

    # Plumbing -----------------------------------------------------------------------------

    async def _all_comments(self, path: str, fields: str) -> list[Comment]:
        found: list[Comment] = []
        after: str | None = None
        while True:
            params: dict[str, Any] = {"fields": fields, "limit": COMMENT_PAGE_SIZE}
            data = await self._get(path, **params, **({"after": after} if after else {}))
            found += [read_comment(item) for item in data.get("data", [])]
            after, has_next = read_paging(data)
            if not (has_next and after):
                return found

    async def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return await self._call("GET", path, params)

    async def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        *,
        base: str | None = None,
        token: bool = True,
    ) -> dict[str, Any]:
        params = dict(params)
        if token:
            params["access_token"] = self._token
        # Secrets go in the form body of POSTs; GET and DELETE can only carry them in the URL.
        body: dict[str, Any] = {"data": params} if method == "POST" else {"params": params}
        prefix = f"{method} {path}"
        secrets = (self._token, self._secret(), str(params.get("access_token", "")))
        try:
            response = await fetch(self._http, method, (base or self._base) + path, **body)
        except (BlockedAddressError, ResponseTooLarge, httpx.UnsupportedProtocol) as exc:
            raise InstagramError(f"{prefix}: {redact(str(exc), *secrets)}") from None
        except httpx.HTTPError as exc:
            text = f"{prefix}: {type(exc).__name__}: {redact(str(exc), *secrets)}"
            raise TemporaryError(text) from None
        self.usage = usage_from_headers(response.headers) or self.usage
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            data = None
        if response.is_error or not isinstance(data, dict) or "error" in data:
            error = error_from_response(response, prefix)
            error.args = (redact(str(error), *secrets),)
            raise error
        return data

    def _secret(self) -> str:
        secret = instagram(self._settings).app_secret
        return str(secret) if secret is not None else ""


def _id(value: str) -> str:
    """Ids go into the path: refuse anything that could change the path or host."""
    if not value or not value.replace("_", "").isalnum():
        raise InstagramError(f"Not an Instagram id: {value!r}")
    return value
