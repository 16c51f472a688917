"""micropub.rocks as a client: how it sends requests and reads answers, and a served site.

From aaronpk/micropub.rocks
(https://github.com/aaronpk/micropub.rocks/blob/eeac57ad4b38e6a6cc0a31d6a4fe2bca2794f791/app/ServerTests.php
and `public/assets/common.js` beside it): form posts carry only their Content-Type; JSON
posts and queries add `Accept: application/json`; JSON bodies lose their newlines; query URLs
end with `url` encoded by encodeURIComponent; an answer is JSON only if it starts with `{` and
its type contains application/json.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from PIL import Image

from tests import serving
from tests.micropub.endpoint_helpers import entry_of

ALL_SCOPES = "create update delete undelete media"
# 804 needs "a valid token that lacks the create scope".
WEAK_SCOPE = "update"
SUNSET_URL = "https://micropub.rocks/media/sunset.jpg"
CITY_URL = "https://micropub.rocks/media/city-at-night.jpg"


@dataclass(frozen=True)
class Site:
    """A Hearth site as micropub.rocks sees it: its endpoint, two tokens, an HTTP client."""

    client: httpx.AsyncClient
    endpoint: str
    token: str
    weak_token: str

    async def created(self, response: httpx.Response) -> str:
        """The create pass rule, and a post that is there: never a deleted one's Location.

        micropub.rocks sends the same texts in several tests (500 and 501 create the same
        note and delete it); run one after another against one site, each create must make
        its post, not answer with the one the test before deleted.
        """
        location = created(response)
        assert 410 != (await self.client.get(location)).status_code, f"{location} is deleted"
        return location

    def _auth(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def post(self, body: str, *, skipauth: bool = False) -> httpx.Response:
        """'post': a literal form body, no Accept header; a Bearer header unless skipauth."""
        headers = {
            "Content-type": "application/x-www-form-urlencoded",
            **self._auth(None if skipauth else self.token),
        }
        return await self.client.post(self.endpoint, content=body.encode(), headers=headers)

    async def post_with(self, body: str, token: str) -> httpx.Response:
        """'post' with the token the user pasted in (804)."""
        headers = {"Content-type": "application/x-www-form-urlencoded", **self._auth(token)}
        return await self.client.post(self.endpoint, content=body.encode(), headers=headers)

    async def postjson(self, body: str) -> httpx.Response:
        """'postjson': the JSON text with its newlines removed, as jQuery's `.text()` has it."""
        headers = {
            "Content-type": "application/json",
            "Accept": "application/json",
            **self._auth(self.token),
        }
        content = body.replace("\n", "").encode()
        return await self.client.post(self.endpoint, content=content, headers=headers)

    async def get(self, query: str, url: str | None = None) -> httpx.Response:
        """'get' to `build_micropub_query_url`: the parameters, then `url` last."""
        target = self.endpoint + ("&" if "?" in self.endpoint else "?") + query
        if url is not None:
            target += "&url=" + quote(url, safe="-_.!~*'()")  # encodeURIComponent
        headers = {"Accept": "application/json", **self._auth(self.token)}
        return await self.client.get(target, headers=headers)

    async def multipart(
        self, params: dict[str, str], files: list[tuple[str, str, bytes, str]], url: str = ""
    ) -> httpx.Response:
        """Guzzle's 'multipart': text parts, then file parts with a filename and a type."""
        parts = [(name, (filename, data, kind)) for name, filename, data, kind in files]
        return await self.client.post(
            url or self.endpoint, data=params, files=parts, headers=self._auth(self.token)
        )


def entry_json(*properties: str) -> str:
    """A JSON create body laid out as on the tester's pages (newlines go when sent)."""
    inner = ",\n    ".join(properties)
    return '{\n  "type": ["h-entry"],\n  "properties": {\n    ' + inner + "\n  }\n}"


def action_json(action: str, url: str, operation: str = "") -> str:
    """A JSON update, delete or undelete body with the Location pasted in."""
    rest = f",\n  {operation}" if operation else ""
    return f'{{\n  "action": "{action}",\n  "url": "{url}"{rest}\n}}'


def json_of(response: httpx.Response) -> dict[str, Any] | None:
    """The body as the tester reads it: JSON only if it starts with `{` and says so."""
    is_json = "application/json" in response.headers.get("content-type", "")
    if not (is_json and response.content.startswith(b"{")):
        return None
    body: dict[str, Any] = response.json()
    return body


def created(response: httpx.Response) -> str:
    """The create pass rule: 201 or 202 with a Location; returns it (absolute)."""
    assert response.status_code in (201, 202), response.text
    location: str = response.headers["location"]
    assert location.startswith(("http://", "https://"))
    return location


def updated(response: httpx.Response) -> None:
    """The update pass rule: 200 or 204, or 201 with a Location."""
    status = response.status_code
    assert status in (200, 204) or (status == 201 and "location" in response.headers)


def deleted(response: httpx.Response) -> None:
    """The delete and undelete pass rule: 200, 201 or 204."""
    assert response.status_code in (200, 201, 204), response.text


async def source(site: Site, location: str, *properties: str) -> dict[str, Any]:
    """q=source for the Location, with properties[] as the tester encodes them."""
    query = "q=source" + "".join(f"&properties%5B%5D={p}" for p in properties)
    response = await site.get(query, location)
    assert 200 == response.status_code, response.text
    body = json_of(response)
    assert body is not None
    return body


async def rendered(site: Site, location: str) -> dict[str, Any]:
    """The human check: the permalink as a reader gets it, parsed with mf2py."""
    page = await site.client.get(location)
    assert 200 == page.status_code
    properties: dict[str, Any] = entry_of(page)["properties"]
    return properties


def values(items: list[Any]) -> list[Any]:
    """mf2py's values: the `value` of embedded objects (e-content, u-photo with alt)."""
    return [item["value"] if isinstance(item, dict) else item for item in items]


async def all_contents(site: Site) -> str:
    """Every post's properties, via the q=source list, as one string to search."""
    body = json_of(await site.get("q=source&limit=100"))
    assert body is not None
    return str([item["properties"] for item in body["items"]])


def noise_image(seed: int, size: tuple[int, int], fmt: str) -> bytes:
    """A picture of random pixels (so it does not compress much), seeded for stable sizes."""
    rng = random.Random(seed)
    mode = "P" if fmt == "GIF" else "RGB"
    image = Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))
    if mode == "P":
        image.putpalette([rng.randrange(256) for _ in range(768)])
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@contextmanager
def hearth_serve(data_dir: Path) -> Iterator[tuple[str, str, str]]:
    """`hearth serve` on 127.0.0.1; yields its URL and two tokens from `hearth token create`.

    On exit it stops the server and checks that its log shows no traceback.
    """
    with serving.hearth_serve(data_dir) as served:
        token = serving.hearth_cli(served.env, "token", "create", "--scope", ALL_SCOPES)
        weak = serving.hearth_cli(served.env, "token", "create", "--scope", WEAK_SCOPE)
        yield served.base, token.splitlines()[-1], weak.splitlines()[-1]
