"""webmention.rocks' receiver tests and the W3C receiver checklist against a real `hearth serve`.

Everything runs on loopback: Hearth is `hearth serve` in its own process (demo posts,
HEARTH_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8 so its worker may fetch the fake sources,
HEARTH_MODERATION=all), and the remote sources are a Starlette app served by uvicorn in a
thread on another port. Requests are sent the way webmention.rocks' tester does
(mention-client-php 1.1.8,
https://github.com/indieweb/mention-client-php/blob/1.1.8/src/IndieWeb/MentionClient.php):
discovery by HEAD and the Link header, then a form POST with
`Accept: application/json, */*;q=0.8` and no redirects.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mf2py
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.serving import hearth_cli, hearth_serve, loopback_base, loopback_socket, serve_in_thread

# mention-client-php 1.1.8's Link header test (`_findWebmentionEndpointInHeader`).
MENTION_CLIENT_LINK = re.compile(
    r'<((?:https?://)?[^>]+)>; rel="?(?:https?://webmention.org/?|webmention)"?'
)
TESTER_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json, */*;q=0.8",
}


@dataclass
class Source:
    body: str = ""
    status: int = 200
    headers: dict[str, str] | None = None
    # Seconds between bytes: a source that trickles (each read is quick, the whole is not).
    trickle: float = 0.0


class SourceSite:
    """The remote sites: pages by path, served for real on 127.0.0.1."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pages: dict[str, Source] = {}

    def add(self, path: str, body: str = "", **options: Any) -> str:
        self.pages[path] = Source(body, **options)
        return self.base + path.lstrip("/")

    async def page(self, request: Request) -> Response:
        source = self.pages.get(request.url.path)
        if source is None:
            return Response("Not found", status_code=404)
        headers = {"Content-Type": "text/html; charset=utf-8", **(source.headers or {})}
        if not source.trickle:
            return Response(source.body, status_code=source.status, headers=headers)

        async def trickle() -> AsyncIterator[bytes]:
            for char in source.body:
                await asyncio.sleep(source.trickle)
                yield char.encode()

        return StreamingResponse(trickle(), status_code=source.status, headers=headers)


@pytest.fixture(name="site", scope="module")
def site_fixture() -> Iterator[SourceSite]:
    """The fake source sites, served by uvicorn in a thread."""
    sock = loopback_socket()
    site = SourceSite(loopback_base(sock))
    app = Starlette(routes=[Route("/{path:path}", site.page)])
    with serve_in_thread(app, [sock]):
        yield site


@pytest.fixture(name="hearth", scope="module")
def hearth_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`hearth serve` with its worker, on a free port, with demo posts; yields its base URL."""
    data_dir: Path = tmp_path_factory.mktemp("receiver")
    env = {"HEARTH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8", "HEARTH_MODERATION": "all"}
    with hearth_serve(data_dir, env=env) as served:
        hearth_cli(served.env, "demo")
        yield served.base


@pytest.fixture(name="target", scope="module")
def target_fixture(hearth: str) -> str:
    """A post of the served site (the first entry of its home page)."""
    home = mf2py.parse(doc=httpx.get(hearth).text, url=hearth)
    feed = next(i for i in home["items"] if "h-feed" in i["type"])
    url: str = feed["children"][0]["properties"]["url"][0]
    return url


@pytest.fixture(name="http")
def http_fixture() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        yield client


def rocks_page(target: str, content: str = "This is a reply from webmention.rocks.") -> str:
    """The source page of webmention.rocks' receiver tests: an h-entry reply to the target."""
    return (
        "<!doctype html><html><head><title>Receiver test</title></head><body>"
        '<div class="h-entry"><h1 class="p-name">Webmention Rocks! Receiver test</h1>'
        '<a class="p-author h-card" href="https://webmention.rocks/">Webmention Rocks!</a>'
        f'<a href="{target}" class="u-in-reply-to">{target}</a>'
        f'<div class="e-content">{content}</div>'
        '<time class="dt-published" datetime="2026-05-05T10:00:00-07:00">May 5</time>'
        "</div></body></html>"
    )


def send(http: httpx.Client, hearth: str, source: str, target: str) -> httpx.Response:
    return http.post(
        hearth + "webmention",
        content=str(httpx.QueryParams(source=source, target=target)),
        headers=TESTER_HEADERS,
    )


def settled(
    http: httpx.Client,
    location: str,
    done: Callable[[dict[str, Any]], bool] | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    """Poll the status page (JSON) until `done` (default: no longer pending)."""
    done = done or (lambda data: data["status"] != "pending")
    deadline = time.monotonic() + timeout
    while True:
        data: dict[str, Any] = http.get(location, headers={"Accept": "application/json"}).json()
        if done(data) or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def verified(
    http: httpx.Client,
    hearth: str,
    site: SourceSite,
    path: str,
    body: str,
    target: str,
    **options: Any,
) -> dict[str, Any]:
    source = site.add(path, body, **options)
    answer = send(http, hearth, source, target)
    assert 201 == answer.status_code, answer.text
    return settled(http, answer.headers["location"])


def test_tester_discovers_the_endpoint_with_head(
    http: httpx.Client, hearth: str, target: str
) -> None:
    """mention-client's HEAD request finds the endpoint in the Link header by its regex."""
    head = http.head(target)
    match = MENTION_CLIENT_LINK.search(", ".join(head.headers.get_list("link")))
    assert match is not None and hearth + "webmention" == match.group(1)


def test_tester_discovers_the_endpoint_in_the_html(
    http: httpx.Client, hearth: str, target: str
) -> None:
    """The fallback: php-mf2 `rels['webmention'][0]` of the page."""
    rels = mf2py.parse(doc=http.get(target).text, url=target)["rels"]
    assert [hearth + "webmention"] == rels["webmention"]


def test_r1_accepts_a_valid_webmention(
    http: httpx.Client, hearth: str, site: SourceSite, target: str
) -> None:
    """Receiver test 1: 200, 201 or 202; a 201 carries Location; the reply is then shown."""
    source = site.add("/receive/1/abc", rocks_page(target))
    answer = send(http, hearth, source, target)
    assert (201, True) == (answer.status_code, answer.headers["location"].startswith(hearth))
    data = settled(http, answer.headers["location"])
    assert ("accepted", True) == (data["status"], data["shown"])


@pytest.mark.parametrize(
    ("source", "bad_target"),
    [
        ("jwoijgoisdjlskjegisvjowuehjtkx", None),
        ("{site}receive/2/abc", "owiejduvyeiwljjjcjmvbpsouehgd"),
        ("sjuhvhwieuhtiwudcjvhuh", "owiejduvyeiwljjjcjmvbpsouehgd"),
    ],
    ids=["a", "b", "c"],
)
def test_r2_rejects_invalid_urls(
    http: httpx.Client,
    hearth: str,
    site: SourceSite,
    target: str,
    source: str,
    bad_target: str | None,
) -> None:
    """Receiver test 2: an invalid source or target URL is exactly 400, synchronously."""
    answer = send(http, hearth, source.format(site=site.base), bad_target or target)
    assert 400 == answer.status_code


def test_fragment_in_target_is_ignored(
    http: httpx.Client, hearth: str, site: SourceSite, target: str
) -> None:
    """Checklist: ignores the fragment when checking the target."""
    data = verified(http, hearth, site, "/fragment", rocks_page(target), target + "#replies")
    assert "accepted" == data["status"]


def test_follows_a_redirect_on_the_source(
    http: httpx.Client, hearth: str, site: SourceSite, target: str
) -> None:
    """Checklist: follows at least one redirect on the source."""
    final = site.add("/moved/final", rocks_page(target))
    data = verified(
        http, hearth, site, "/moved", "", target, status=301, headers={"Location": final}
    )
    assert "accepted" == data["status"]


def test_limits_redirects(http: httpx.Client, hearth: str, site: SourceSite, target: str) -> None:
    """Checklist: limits redirects (a loop is rejected)."""
    loop = site.base + "loop"
    data = verified(http, hearth, site, "/loop", "", target, status=302, headers={"Location": loop})
    assert ("rejected", "the source redirects too many times") == (data["status"], data["reason"])


@pytest.mark.parametrize(
    "markup", ['<img src="{t}">', '<video src="{t}"></video>', '<audio src="{t}"></audio>']
)
def test_accepts_target_in_media_elements(
    http: httpx.Client, hearth: str, site: SourceSite, target: str, markup: str
) -> None:
    """Checklist: the target in `<img>`, `<video>` and `<audio>`."""
    path = "/media/" + markup[1:4]
    data = verified(http, hearth, site, path, f"<p>{markup.format(t=target)}</p>", target)
    assert "accepted" == data["status"]


@pytest.mark.parametrize(
    "body",
    ["<p>Plain: {t}</p>", '<!-- <a href="{t}">hidden</a> -->', "<p>Nothing here</p>"],
    ids=["plain-text", "comment", "absent"],
)
def test_rejects_sources_without_a_real_link(
    http: httpx.Client, hearth: str, site: SourceSite, target: str, body: str
) -> None:
    """Checklist: the target as plain text, inside a comment, or absent is rejected."""
    path = "/nolink/" + str(abs(hash(body)))
    data = verified(http, hearth, site, path, body.format(t=target), target)
    assert ("rejected", "the source does not link to the target") == (
        data["status"],
        data["reason"],
    )


def test_update_does_not_duplicate(
    http: httpx.Client, hearth: str, site: SourceSite, target: str
) -> None:
    """Checklist: a re-send is an update of the same webmention (same status page)."""
    first = verified(http, hearth, site, "/update", rocks_page(target, "First"), target)
    source = site.add("/update", rocks_page(target, "Second"))
    answer = send(http, hearth, source, target)
    again = settled(http, answer.headers["location"], lambda d: d["status"] != "pending")
    assert ("accepted", first["source"]) == (again["status"], again["source"])
    assert send(http, hearth, source, target).headers["location"] == answer.headers["location"]


@pytest.mark.parametrize(
    ("replacement", "options"),
    [("", {"status": 410}), ("<p>Link removed</p>", {})],
    ids=["410", "200-without-link"],
)
def test_deletes_when_the_source_goes_away(
    http: httpx.Client,
    hearth: str,
    site: SourceSite,
    target: str,
    replacement: str,
    options: dict[str, Any],
) -> None:
    """Checklist: a re-sent webmention whose source is 410, or 200 without the link, is removed."""
    path = f"/delete/{options.get('status', 200)}"
    assert "accepted" == verified(http, hearth, site, path, rocks_page(target), target)["status"]
    data = verified(http, hearth, site, path, replacement, target, **options)
    assert ("deleted", False) == (data["status"], data["shown"])


def test_byte_limit(http: httpx.Client, hearth: str, site: SourceSite, target: str) -> None:
    """Checklist: a source over the byte limit (1 MB) is rejected."""
    body = rocks_page(target) + "<!--" + "x" * (1024 * 1024) + "-->"
    data = verified(http, hearth, site, "/huge", body, target)
    assert "rejected" == data["status"] and "larger than" in data["reason"]


def test_time_limit(http: httpx.Client, hearth: str, site: SourceSite, target: str) -> None:
    """Checklist: a source trickling a byte every 0.3 s is cut off after the 15 s total
    limit (each read alone is quick, so only a total limit catches it) and retried later."""
    source = site.add("/slow", rocks_page(target), trickle=0.3)
    started = time.monotonic()
    answer = send(http, hearth, source, target)
    data = settled(http, answer.headers["location"], lambda d: bool(d["reason"]), timeout=40)
    # The public page says what happened, not the error (that is in the job, for the admin).
    assert "will try again: the source took too long to answer" == data["reason"]
    assert ("pending", True) == (data["status"], time.monotonic() - started < 25)
