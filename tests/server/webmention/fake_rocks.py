"""A local webmention.rocks for Hearth's sender, served on 127.0.0.1 by the tests.

Reproduces the sender tests of https://webmention.rocks/ as read from aaronpk/webmention.rocks
@7b97198 (https://github.com/aaronpk/webmention.rocks/tree/7b97198fcb55bc0da499f221fd8476e073e1c330:
`lib/Rocks/DiscoveryTestData.php`, `UpdateTestData.php`, `DeleteTestData.php` and the
controllers): discovery tests 1-23 with their exact
advertisements and decoy `/webmention/error` endpoints (400), test 23's redirect to a
single-use page and single-use endpoint, update tests 1-2 and delete test 1 with single-use
`?key=` endpoints, strict verification (an `<a href>` string-equal to the target), the
"Congrats" rules and the 410 / `<meta http-equiv="Status">` tombstone check. Differences: no
DNS or public-address check of `source` (everything here is loopback), and the accepted
target host is this server's host:port.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import html5lib
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.serving import loopback_base, loopback_socket, serve_in_thread


@dataclass(frozen=True)
class DiscoveryCase:
    """One discovery test: `{B}` in any string stands for the server's base URL."""

    name: str
    endpoint: str  # the one correct endpoint, relative to {B}
    link_headers: tuple[str, ...] = ()
    header_name: str = "Link"
    link_tag: str = ""  # printed inside <head>
    description: str = ""  # printed inside the e-content <div>
    target: str = ""  # what to link to, if not test/N


_CORRECT = 'There is also a <a href="/test/{n}/webmention" rel="webmention">correct endpoint</a>.'
DISCOVERY: dict[int, DiscoveryCase] = {
    1: DiscoveryCase("HTTP Link header, unquoted rel, relative URL", "test/1/webmention",
                     ("</test/1/webmention>; rel=webmention",)),
    2: DiscoveryCase("HTTP Link header, unquoted rel, absolute URL", "test/2/webmention",
                     ("<{B}test/2/webmention>; rel=webmention",)),
    3: DiscoveryCase("HTML <link> tag, relative URL", "test/3/webmention",
                     link_tag='<link rel="webmention" href="/test/3/webmention">'),
    4: DiscoveryCase("HTML <link> tag, absolute URL", "test/4/webmention",
                     link_tag='<link href="{B}test/4/webmention" rel="webmention">'),
    5: DiscoveryCase("HTML <a> tag, relative URL", "test/5/webmention", description=(
        'This post advertises its <a rel="webmention" href="/test/5/webmention">Webmention'
        " endpoint</a> with an HTML <code>&lt;a&gt;</code> tag in the body.")),
    6: DiscoveryCase("HTML <a> tag, absolute URL", "test/6/webmention", description=(
        'This post advertises its <a href="{B}test/6/webmention" rel="webmention">Webmention'
        " endpoint</a> with an HTML <code>&lt;a&gt;</code> tag in the body.")),
    7: DiscoveryCase("HTTP Link header with strange casing", "test/7/webmention",
                     ("<{B}test/7/webmention>; rel=webmention",), header_name="LinK"),
    8: DiscoveryCase("HTTP Link header, quoted rel", "test/8/webmention",
                     ('<{B}test/8/webmention>; rel="webmention"',)),
    9: DiscoveryCase("Multiple rel values on a <link> tag", "test/9/webmention",
                     link_tag='<link rel="webmention somethingelse" href="{B}test/9/webmention">'),
    10: DiscoveryCase("Multiple rel values on a Link header", "test/10/webmention",
                      ('<{B}test/10/webmention>; rel="webmention somethingelse"',)),
    11: DiscoveryCase(
        "Multiple Webmention endpoints advertised: Link, <link>, <a>", "test/11/webmention",
        ('</test/11/webmention>; rel="webmention"',),
        link_tag='<link rel="webmention" href="/test/11/webmention/error">',
        description='As well as an <a href="/test/11/webmention/error" rel="webmention">&lt;a'
        "&gt; tag</a>."),
    12: DiscoveryCase(
        "Checking for exact match of rel=webmention", "test/12/webmention",
        link_tag='<link rel="not-webmention" href="/test/12/webmention/error">',
        description=_CORRECT.format(n=12)),
    13: DiscoveryCase("False endpoint inside an HTML comment", "test/13/webmention", description=(
        'This post contains an HTML comment <!-- <a href="/test/13/webmention/error"'
        ' rel="webmention"></a> --> that contains a rel=webmention element. '
        + _CORRECT.format(n=13))),
    14: DiscoveryCase("False endpoint in escaped HTML", "test/14/webmention", description=(
        '<code>&lt;a href="/test/14/webmention/error" rel="webmention"&gt;&lt;/a&gt;</code> '
        + _CORRECT.format(n=14))),
    15: DiscoveryCase("Webmention href is an empty string", "test/15",
                      link_tag='<link rel="webmention" href="">'),
    16: DiscoveryCase(
        "Multiple Webmention endpoints advertised: <a>, <link>", "test/16/webmention",
        description='An HTML <a href="/test/16/webmention" rel="webmention">&lt;a&gt; tag</a>,'
        ' followed by a &lt;link&gt; tag.'
        ' <link rel="webmention" href="/test/16/webmention/error">'),
    17: DiscoveryCase(
        "Multiple Webmention endpoints advertised: <link>, <a>", "test/17/webmention",
        description='A &lt;link&gt; tag <link rel="webmention" href="/test/17/webmention"> '
        'followed by an <a href="/test/17/webmention/error" rel="webmention">&lt;a&gt; tag</a>.'),
    18: DiscoveryCase("Multiple HTTP Link headers", "test/18/webmention", (
        '<{B}test/18/webmention/error>; rel="other"', '<{B}test/18/webmention>; rel="webmention"')),
    19: DiscoveryCase("Single HTTP Link header with multiple values", "test/19/webmention", (
        '<{B}test/19/webmention/error>; rel="other", <{B}test/19/webmention>; rel="webmention"',)),
    20: DiscoveryCase("Link tag with no href attribute", "test/20/webmention", description=(
        'This post has a &lt;link&gt; tag <link rel="webmention"> which has no href attribute.'
        ' Send to <a href="/test/20/webmention" rel="webmention">this endpoint</a> instead.')),
    21: DiscoveryCase("Webmention endpoint has query string parameters",
                      "test/21/webmention?query=yes",
                      link_tag='<link rel="webmention" href="/test/21/webmention?query=yes">'),
    22: DiscoveryCase("Webmention endpoint is relative to the path", "test/22/webmention",
                      link_tag='<link rel="webmention" href="22/webmention">'),
    23: DiscoveryCase("Webmention target is a redirect and the endpoint is relative",
                      "test/23/page/webmention-endpoint/{k2}", target="test/23/page",
                      description="Send a Webmention to {B}test/23/page"),
}  # fmt: skip

LAYOUT = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Webmention Rocks!</title>
  <link href="/assets/semantic.min.css" rel="stylesheet">
  <link href="/assets/style.css" rel="stylesheet">
  <link href="/assets/test.css" rel="stylesheet">
  <script src="/assets/jquery-1.11.3.min.js"></script>
  <script src="/assets/semantic.min.js"></script>
  <script src="/assets/script.js"></script>
  {link_tag}
</head>
<body>
<div class="post-container h-entry">
  <div class="left p-author h-card"><a href="/"><img src="/assets/webmention-rocks-icon.png"
    width="80" class="u-photo" alt="Webmention Rocks!"></a></div>
  <h1 class="p-name"><a href="{path}">{name}</a></h1>
  <div class="e-content">{description}</div>
  <div class="meta"><a href="{path}" class="u-url">Published:
    <time class="dt-published" datetime="2016-04-09T21:25:31-07:00">April 9, 2016</time></a></div>
</div>
</body>
</html>
"""

PAGE_23 = (
    '<div class="h-entry"><h2 class="p-name">Discovery Test #23</h2><p><a href="/test/23/page"'
    ' class="u-url">permalink</a></p><p><a rel="webmention" href="webmention-endpoint/{k2}">'
    "webmention endpoint</a></p></div>"
)


def discovery_page(num: int, base: str) -> tuple[list[tuple[str, str]], str]:
    """The headers and HTML of `GET /test/{num}` (1-22) on a server at `base`."""
    case = DISCOVERY[num]
    headers = [(case.header_name, v.replace("{B}", base)) for v in case.link_headers]
    html = LAYOUT.format(
        link_tag=case.link_tag.replace("{B}", base),
        path=f"/test/{num}",
        name=f"Discovery Test #{num}",
        description=case.description.replace("{B}", base),
    )
    return headers, html


def hrefs(html: str, tags: tuple[str, ...] | None) -> list[str]:
    """Raw href values of elements named `tags` (all elements when None), as PHP's DOM sees."""
    root = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    return [
        element.attrib["href"]
        for element in root.iter()
        if isinstance(element.tag, str)
        and "href" in element.attrib
        and (tags is None or element.tag in tags)
    ]


def meta_status(html: str) -> int | None:
    root = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    for meta in root.iter("meta"):
        if meta.attrib.get("http-equiv", "").lower() == "status":
            match = re.match(r"(\d+)", meta.attrib.get("content", ""))
            if match:
                return int(match.group(1))
    return None


class Reject(Exception):
    """An answer that ends the request: status and text/plain body."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(error)
        self.status = status
        self.text = error + "\n" + (f"\n{description}\n" if description else "")


@dataclass
class Answer:
    """One POST to an endpoint of the fake, as received and answered."""

    path: str
    query: str
    content_type: str
    form: list[tuple[str, str]]
    status: int
    text: str

    @property
    def source(self) -> str:
        return dict(self.form).get("source", "")


@dataclass
class FakeRocks:
    base: str = ""
    hits: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    answers: list[Answer] = field(default_factory=list)
    # Discovery: (num, source) of every stored response.
    responses: set[tuple[int, str]] = field(default_factory=set)
    # Update and delete tests: sources seen, parts passed, tests passed.
    sources: set[str] = field(default_factory=set)
    parts: set[tuple[str, int, int, str]] = field(default_factory=set)
    passed: set[tuple[str, int, str]] = field(default_factory=set)
    _keys: dict[str, float] = field(default_factory=dict)

    # -- one-time keys (Redis::createOneTimeKey / useOneTimeKey, 600 s) --

    def new_key(self) -> str:
        key = secrets.token_hex(10)
        self._keys[key] = time.monotonic() + 600
        return key

    def use_key(self, key: str) -> bool:
        return self._keys.pop(key, 0.0) > time.monotonic()

    def answers_from(self, source: str) -> list[Answer]:
        return [answer for answer in self.answers if answer.source == source]

    # -- pages --

    async def discovery(self, request: Request) -> Response:
        num = int(request.path_params["num"])
        if num not in DISCOVERY:
            return PlainTextResponse("Test not found", 404)
        headers, html = discovery_page(num, self.base)
        response = HTMLResponse(html)
        for name, value in headers:
            response.raw_headers.append((name.encode(), value.encode()))
        return response

    async def redirect23(self, request: Request) -> Response:
        return RedirectResponse(f"page/{self.new_key()}", 302)

    async def page23(self, request: Request) -> Response:
        if not self.use_key(request.path_params["key"]):
            return PlainTextResponse("Code expired\n", 410)
        k2 = self.new_key()
        link = f"<webmention-endpoint/{k2}>; rel=webmention"
        return HTMLResponse(PAGE_23.format(k2=k2), headers={"Link": link})

    async def update_page(self, request: Request) -> Response:
        """The test page advertises part/1's endpoint, its part/2 page part/2's; fresh keys."""
        num, step = int(request.path_params["num"]), request.path_params.get("step")
        if num not in (1, 2) or step not in (None, "1", "2"):
            return PlainTextResponse("Test not found", 404)
        path = f"/update/{num}" + (f"/part/{step}" if step else "")
        if step == "1":
            description = "This page doesn't do anything. You can ignore it."
        else:
            part = "part/2" if step else "part/1"
            key = self.new_key()
            description = (
                f'<p>Update test #{num}: <a href="/update/{num}">this page</a> and'
                f' <a href="/update/{num}/part/2">{self.base}update/{num}/part/2</a>.</p>'
                f'<link rel="webmention" href="/update/{num}/{part}/webmention?key={key}">'
            )
        html = LAYOUT.format(link_tag="", path=path, name=path, description=description)
        return HTMLResponse(html)

    async def delete_page(self, request: Request) -> Response:
        if request.path_params["num"] != "1":
            return PlainTextResponse("Test not found", 404)
        tag = f'<link rel="webmention" href="/delete/1/webmention?key={self.new_key()}">'
        description = '<p>Write a post that links to <a href="/delete/1">this page</a>.</p>'
        return HTMLResponse(LAYOUT.format(link_tag=tag, path="/delete/1", name="Delete Test #1",
                                          description=description))  # fmt: skip

    # -- endpoints --

    async def endpoint(self, request: Request) -> Response:
        """Every POST: parse, run the test's rules, record the answer."""
        form = list((await request.form()).multi_items())
        try:
            status, text = await self._handle(request, {k: str(v) for k, v in form})
        except Reject as exc:
            status, text = exc.status, exc.text
        self.answers.append(
            Answer(request.url.path, request.url.query, request.headers.get("content-type", ""),
                   [(k, str(v)) for k, v in form], status, text)
        )  # fmt: skip
        return PlainTextResponse(text, status)

    async def _handle(self, request: Request, form: dict[str, str]) -> tuple[int, str]:
        path = request.url.path
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise Reject(400, "invalid_content_type", "Content type must be form-encoded")
        if match := re.fullmatch(r"/test/23/page/webmention-endpoint/(\w+)", path):
            if not self.use_key(match.group(1)):
                raise Reject(400, "Code expired")
            return await self._discovery(23, None, request, form)
        if match := re.fullmatch(r"/test/(\d+)(?:/webmention(?:/(\w+))?)?", path):
            # POST /test/20 is routed to handle_error: that page is not its own endpoint.
            mode = "error" if path == "/test/20" else match.group(2)
            return await self._discovery(int(match.group(1)), mode, request, form)
        match = re.fullmatch(r"/(update|delete)/(\d+)(?:/part/(\d+))?/webmention", path)
        if match is None:
            raise Reject(404, "not found")
        self._one_time(request)
        group, num, step = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        source = self._source(form)
        target = self._target(form, group, num)
        fetched = await self._fetch(source)
        if group == "delete":
            return self._delete(num, source, target, fetched)
        return self._update(num, step, source, target, fetched)

    def _one_time(self, request: Request) -> None:
        key = request.query_params.get("key")
        if key is None:
            raise Reject(400, "invalid_request", "The request was missing a key.")
        if not self.use_key(key):
            raise Reject(400, "invalid_request", "This Webmention endpoint has expired.")

    def _source(self, form: dict[str, str]) -> str:
        source = form.get("source", "")
        parts = urlsplit(source)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Reject(400, "invalid_source", "The source URL must be an http(s) URL.")
        return source

    async def _fetch(self, source: str) -> tuple[int, str]:
        """GET `source` as webmention.rocks does: its status and body."""
        headers = {"Accept": "text/html"}
        try:
            async with httpx.AsyncClient(follow_redirects=True, max_redirects=10) as client:
                response = await client.get(source, headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            raise Reject(400, "fetch_error", f"Error fetching the source URL: {exc}") from exc
        return response.status_code, response.text

    def _target(self, form: dict[str, str], group: str, num: int) -> str:
        """Webmention::_validateTargetURL: this host, a test path, this endpoint's test."""
        target = form.get("target", "")
        parts = urlsplit(target)
        if not target:
            raise Reject(400, "missing_target", "No target parameter was specified.")
        if parts.netloc != urlsplit(self.base).netloc:
            raise Reject(400, "invalid_target", "This endpoint only handles this host.")
        path = parts.path
        if not re.fullmatch(r"/(test|update|delete)/\d+(/(step|part)/\d+)?", path) and (
            not re.fullmatch(r"/test/23/[a-zA-Z0-9]+", path)
        ):
            raise Reject(400, "invalid_target", "The target provided does not accept webmentions.")
        match = re.match(r"/([a-z]+)/(\d+)", path)
        if match is None or (match.group(1), int(match.group(2))) != (group, num):
            raise Reject(400, "invalid_target", "This endpoint does not handle that target.")
        return target

    def _verify(self, body: str, target: str) -> None:
        """Strict: an `<a href>` whose raw value equals `target`."""
        if target not in hrefs(body, ("a",)):
            raise Reject(400, "no_link_found", "The source document does not link the target.")

    async def _discovery(
        self, num: int, mode: str | None, request: Request, form: dict[str, str]
    ) -> tuple[int, str]:
        """DiscoveryWebmention::handle (and handle_error for decoys)."""
        if num not in DISCOVERY:
            raise Reject(404, "Test not found!")
        source = self._source(form)
        target = self._target(form, "test", num)
        if num == 21 and (request.query_params.get("query") != "yes" or "query" in form):
            mode = "error"
        if mode == "error":
            self.responses.discard((num, source))
            raise Reject(400, "error", "You sent the Webmention to the wrong endpoint.")
        code, body = await self._fetch(source)
        try:
            self._verify(body, target)
        except Reject:
            if code in (200, 410) and (num, source) in self.responses:
                self.responses.discard((num, source))
                return 200, f"The source URL returned HTTP {code}; the response has been deleted."
            raise
        self.responses.add((num, source))
        return 200, "Got it! Your response should be visible on the website now!"

    def _links(self, body: str, path: str, *, strict: bool = True) -> bool:
        tags = ("a", "link", "area") if strict else None
        return self.base + path in hrefs(body, tags)

    def _update(
        self, num: int, step: int, source: str, target: str, fetched: tuple[int, str]
    ) -> tuple[int, str]:
        """UpdateWebmention::test_{num}_step_{step}: parts passed are (update, num, part)."""
        body = fetched[1]
        mine = f"update/{num}" if step == 1 else f"update/{num}/part/2"
        other = f"update/{num}/part/2" if step == 1 else f"update/{num}"
        if target != self.base + mine:
            raise Reject(400, "invalid_target", "This endpoint does not handle that target.")

        def has(part: int) -> bool:
            return ("update", num, part, source) in self.parts

        def finish(part: int, congrats: int) -> tuple[int, str]:
            self.parts.add(("update", num, part, source))
            if has(congrats):
                self.passed.add(("update", num, source))
                return 200, "Congrats, you've passed the test!"
            return 200, f"Congrats, you sent an update Webmention to {target}."

        if num == 1 and step == 1:
            self._verify(body, target)
            if source not in self.sources:
                if self._links(body, other, strict=False):
                    return 200, "test_failed\n\nThe first Webmention must not link part/2."
                self.sources.add(source)
                self.parts.add(("update", 1, 1, source))
                return 200, "Got it! You've completed step one."
            if not self._links(body, other):
                return 200, "incomplete\n\nYour post did not add a link to the new URL."
            return finish(2, congrats=3)
        if num == 1:
            self._verify(body, target)
            if not has(1):
                return 200, "test_not_started\n\nSend a Webmention to update/1 first."
            if not self._links(body, other):
                return 200, "incomplete\n\nYou removed the link to the first post."
            return finish(3, congrats=2)
        if step == 1:
            self._verify(body, target)
            if not has(1):
                if not self._links(body, other, strict=False):
                    return 200, "\n\nYour post needs to also link update/2/part/2."
                self.sources.add(source)
                self.parts.add(("update", 2, 1, source))
                return 200, "Got it! You've completed this part of step one."
            if self._links(body, other):
                return 200, "incomplete\n\nYour post still links to both URLs."
            return finish(3, congrats=4)
        if not has(2):
            self._verify(body, target)
            if not self._links(body, other, strict=False):
                return 200, "test_failed\n\nYour post needs to also link update/2."
            self.sources.add(source)
            self.parts.add(("update", 2, 2, source))
            return 200, "Got it! You've completed this part of step one."
        if self._links(body, mine, strict=False):
            return 200, "test_failed\n\nYour post still links to update/2/part/2."
        return finish(4, congrats=3)

    def _delete(
        self, num: int, source: str, target: str, fetched: tuple[int, str]
    ) -> tuple[int, str]:
        """DeleteWebmention::test_1."""
        code, body = fetched
        gone = code == 410 or meta_status(body) == 410
        if source not in self.sources:
            if gone:
                raise Reject(400, "no_link_found", 'Your post returned "410 Gone" already.')
            self._verify(body, target)
            self.sources.add(source)
            self.parts.add(("delete", num, 1, source))
            return 200, "Got it! You've completed step one."
        if self._links(body, f"delete/{num}", strict=False):
            return 200, "not_deleted\n\nIt looks like your post still has a link to this test."
        if not gone:
            raise Reject(400, "not_deleted", "Your post did not return a 410 Gone response.")
        self.passed.add(("delete", num, source))
        return 200, "Congrats, you've passed the test!"

    # -- serving --

    def app(self) -> Any:
        routes = [
            Route("/test/23/page/webmention-endpoint/{key}", self.endpoint, methods=["POST"]),
            Route("/test/23/page/{key}", self.page23),
            Route("/test/23/{key}", self.redirect23),
            Route("/test/{num:int}", self.discovery),
            # Only these two pages take POSTs: 15 is its own endpoint, 20 is a decoy.
            Route("/test/15", self.endpoint, methods=["POST"]),
            Route("/test/20", self.endpoint, methods=["POST"]),
            Route("/test/{num:int}/webmention", self.endpoint, methods=["POST"]),
            Route("/test/{num:int}/webmention/{mode}", self.endpoint, methods=["POST"]),
            Route("/update/{num:int}", self.update_page),
            Route("/update/{num:int}/part/{step}", self.update_page),
            Route("/update/{num:int}/part/{step}/webmention", self.endpoint, methods=["POST"]),
            Route("/delete/{num}", self.delete_page),
            Route("/delete/{num}/webmention", self.endpoint, methods=["POST"]),
        ]
        inner = Starlette(routes=routes)

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                query = scope["query_string"].decode()
                self.hits.append((scope["method"], scope["path"] + (f"?{query}" if query else "")))
            await inner(scope, receive, send)

        return app


@contextmanager
def serve_rocks() -> Iterator[FakeRocks]:
    """Run a FakeRocks on a free 127.0.0.1 port in a background thread."""
    sock = loopback_socket()
    rocks = FakeRocks(base=loopback_base(sock))
    with serve_in_thread(rocks.app(), [sock]):
        yield rocks
