"""Webmention endpoint discovery (hearth.server.webmention.endpoint_discovery).

The webmention.rocks discovery tests 1-23, with the markup of `fake_rocks`, and six extra
cases of our own (x01-x06) as pure-function tests; then the
network behaviour of `discover_endpoint` through `httpx.MockTransport` and the guarded client.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from hearth.server.core.http import BlockedAddressError, create_http_client
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.webmention.endpoint_discovery import (
    DiscoveryError,
    discover_endpoint,
    find_in_html,
    find_in_link_headers,
    parse_link_header,
)
from tests.server.webmention.fake_rocks import DISCOVERY, LAYOUT, PAGE_23, discovery_page

B = "https://webmention.rocks/"


def endpoint_of(headers: list[tuple[str, str]], html: str, url: str) -> str | None:
    """Discovery's precedence over a fetched page: Link headers, then the HTML."""
    links = [value for name, value in headers if name.lower() == "link"]
    return find_in_link_headers(links, url) or find_in_html(html, url)


def page(link_tag: str = "", description: str = "") -> str:
    return LAYOUT.format(link_tag=link_tag, path="/x", name="Extra", description=description)


@pytest.mark.parametrize("num", range(1, 23))
def test_webmention_rocks_discovery_cases(num: int) -> None:
    """Discovery tests 1-22: the page's advertisement yields exactly the correct endpoint."""
    headers, html = discovery_page(num, B)
    assert B + DISCOVERY[num].endpoint == endpoint_of(headers, html, f"{B}test/{num}")


def test_webmention_rocks_discovery_23_resolves_against_final_url() -> None:
    """Test 23: the relative endpoint resolves against the redirected page, not the target."""
    final = B + "test/23/page/k1"
    headers = [("Link", "<webmention-endpoint/k2>; rel=webmention")]
    expected = B + "test/23/page/webmention-endpoint/k2"
    assert expected == endpoint_of(headers, PAGE_23.format(k2="k2"), final)
    assert expected == find_in_html(PAGE_23.format(k2="k2"), final)


EXTRAS = {
    "x01-title-before-rel": (
        [("Link", '<{B}x/webmention>; title="Webmention, here; rel=nope"; rel="webmention"')],
        page(),
        "x/webmention",
    ),
    "x02-comma-inside-link-url": (
        [("Link", '<{B}x/webmention?a=1,2>; rel="webmention"')],
        page(),
        "x/webmention?a=1,2",
    ),
    "x03-two-webmention-link-headers-first-wins": (
        [("Link", "<{B}x/webmention>; rel=webmention"), ("Link", "<{B}x/wrong>; rel=webmention")],
        page(),
        "x/webmention",
    ),
    "x04-no-endpoint": ([("Link", '<{B}x/other>; rel="other"')], page(), None),
    "x05-two-link-tags-first-wins": (
        [],
        page('<link rel="webmention" href="/x/webmention"><link rel="webmention" href="/x/wrong">'),
        "x/webmention",
    ),
    "x06-base-href-respected": (
        [],
        page('<base href="/x/base/"><link rel="webmention" href="webmention">'),
        "x/base/webmention",
    ),
}


@pytest.mark.parametrize("case", EXTRAS.values(), ids=EXTRAS.keys())
def test_extra_discovery_cases(case: tuple[list[tuple[str, str]], str, str | None]) -> None:
    """x01-x06: params before rel, commas in URLs, first of several wins, none, <base>."""
    headers, html, expected = case
    headers = [(name, value.replace("{B}", B)) for name, value in headers]
    assert (expected and B + expected) == endpoint_of(headers, html, B + "x")


# -- parse_link_header --


def test_link_header_values_split_on_top_level_commas_only() -> None:
    """Commas inside <URL> and quoted strings do not split link-values."""
    links = parse_link_header('<https://a/?q=1,2>; title="x, y", </b>; rel=next')
    assert ["https://a/?q=1,2", "/b"] == [link.url for link in links]
    assert {"title": "x, y"} == links[0].params


def test_link_header_param_names_and_rel_tokens_are_case_insensitive() -> None:
    """`REL=WebMention` names the webmention relation."""
    assert ["webmention"] == parse_link_header("</e>; REL=WebMention")[0].rels


def test_link_header_first_rel_param_wins() -> None:
    """RFC 8288 §3.3: occurrences of rel after the first are ignored."""
    assert ["other"] == parse_link_header("</e>; rel=other; rel=webmention")[0].rels


def test_link_header_quoted_string_escapes() -> None:
    """Backslash escapes inside a quoted param are undone."""
    assert 'a "b"' == parse_link_header(r'</e>; title="a \"b\""')[0].params["title"]


def test_link_header_skips_malformed_values() -> None:
    """A value without <URL> is skipped; the next one still counts."""
    links = parse_link_header('garbage; rel="webmention", </e>; rel="webmention"')
    assert ["/e"] == [link.url for link in links]


def test_link_header_rel_tokens_split_on_any_whitespace() -> None:
    """rel="a<TAB>webmention" holds both tokens."""
    assert ["a", "webmention"] == parse_link_header('</e>; rel="a\twebmention"')[0].rels


def test_link_header_valueless_param() -> None:
    """A param without a value is kept as empty, and parsing goes on."""
    assert {"crossorigin": "", "rel": "webmention"} == (
        parse_link_header("</e>; crossorigin; rel=webmention")[0].params
    )


# -- find_in_html --


def test_svg_a_is_not_an_html_link() -> None:
    """Only HTML <a> and <link> count; an SVG <a> with rel=webmention does not."""
    html = '<svg><a href="/wrong" rel="webmention"/></svg><a href="/right" rel="webmention">'
    assert B + "right" == find_in_html(html, B)


def test_text_only_elements_hold_no_links() -> None:
    """Markup inside <title>, <textarea> and <script> is text, not elements."""
    html = (
        '<title><a rel="webmention" href="/t"></title>'
        '<script>document.write(\'<a rel="webmention" href="/s">\')</script>'
        '<textarea><link rel="webmention" href="/ta"></textarea>'
    )
    assert find_in_html(html, B) is None


def test_base_later_in_document_still_applies() -> None:
    """The document's base URL is its first <base href>, wherever it stands."""
    html = '<link rel="webmention" href="wm"><base href="https://other.example/dir/">'
    assert "https://other.example/dir/wm" == find_in_html(html, B)


def test_base_with_unusable_scheme_is_ignored() -> None:
    """A javascript: or data: base does not become the base URL."""
    html = '<base href="javascript:alert(1)"><link rel="webmention" href="/wm">'
    assert B + "wm" == find_in_html(html, B)


def test_href_whitespace_is_stripped() -> None:
    """Leading and trailing whitespace around an href is not part of the URL."""
    assert B + "wm" == find_in_html('<a rel="webmention" href=" \n/wm\t">', B)


def test_rel_value_is_case_insensitive() -> None:
    """rel="WebMention" matches, as HTML rel keywords are ASCII case-insensitive."""
    assert B + "wm" == find_in_html('<link rel="WebMention" href="/wm">', B)


def test_declared_encoding_is_used_for_bytes() -> None:
    """A page sent as bytes in its declared charset decodes before URLs are read."""
    html = '<a rel="webmention" href="/wm/é">'.encode("iso-8859-1")
    assert B + "wm/é" == find_in_html(html, B, "iso-8859-1")


# -- discover_endpoint over HTTP --

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(name="open_settings")
def open_settings_fixture(settings: Settings) -> Settings:
    """Made-up hostnames need no DNS when every network is allowed."""
    return dataclasses.replace(settings, allowed_private_networks=ALL_NETWORKS)


def client_for(settings: Settings, handler: Handler) -> httpx.AsyncClient:
    return create_http_client(settings, transport=httpx.MockTransport(handler))


def html_response(html: str, **headers: str) -> httpx.Response:
    return httpx.Response(200, html=html, headers=headers)


async def test_redirected_target_one_get_per_url(open_settings: Settings) -> None:
    """Test 23 over HTTP: redirects followed, one GET each (no HEAD), final URL is the base."""
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url)))
        if request.url.path == "/test/23/page":
            return httpx.Response(302, headers={"Location": "page/k1"})
        link = "<webmention-endpoint/k2>; rel=webmention"
        return html_response(PAGE_23.format(k2="k2"), Link=link)

    async with client_for(open_settings, handler) as client:
        endpoint = await discover_endpoint(client, B + "test/23/page")
    assert B + "test/23/page/webmention-endpoint/k2" == endpoint
    assert [("GET", B + "test/23/page"), ("GET", B + "test/23/page/k1")] == seen


async def test_link_header_wins_over_html(open_settings: Settings) -> None:
    """Test 11 over HTTP: the Link header is used even though the HTML names others."""
    headers, html = discovery_page(11, B)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=[*headers, ("Content-Type", "text/html")], text=html)

    async with client_for(open_settings, handler) as client:
        assert B + "test/11/webmention" == await discover_endpoint(client, B + "test/11")


async def test_other_link_headers_fall_back_to_html(open_settings: Settings) -> None:
    """A Link header with only other rels does not stop the HTML search (rocks issue #27)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return html_response(page('<link rel="webmention" href="/wm">'), Link='</x>; rel="me"')

    async with client_for(open_settings, handler) as client:
        assert B + "wm" == await discover_endpoint(client, B + "x")


async def test_non_html_body_is_not_searched(open_settings: Settings) -> None:
    """Only text/html and application/xhtml+xml bodies are parsed for <link>/<a>."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = '<link rel="webmention" href="/wm">'
        return httpx.Response(200, text=body, headers={"Content-Type": "text/plain"})

    async with client_for(open_settings, handler) as client:
        assert await discover_endpoint(client, B + "x") is None


async def test_xhtml_body_is_searched(open_settings: Settings) -> None:
    """application/xhtml+xml is HTML for discovery."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = page('<link rel="webmention" href="/wm" />').encode()
        return httpx.Response(200, content=body, headers={"Content-Type": "application/xhtml+xml"})

    async with client_for(open_settings, handler) as client:
        assert B + "wm" == await discover_endpoint(client, B + "x")


async def test_only_max_bytes_of_the_body_are_read(open_settings: Settings) -> None:
    """A huge page is read only up to max_bytes; an endpoint past that is not seen."""
    produced: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        yield b'<html><head><link rel="webmention" href="/early"></head><body>'
        for _ in range(1000):
            produced.append(1)
            yield b"x" * 1024
        yield b'<a rel="webmention" href="/late">'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"Content-Type": "text/html"})

    async with client_for(open_settings, handler) as client:
        assert B + "early" == await discover_endpoint(client, B + "x", max_bytes=8 * 1024)
    assert len(produced) < 20


async def test_server_error_is_transient(open_settings: Settings) -> None:
    """503 from the target is a DiscoveryError worth retrying, with its Retry-After."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "120"})

    async with client_for(open_settings, handler) as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover_endpoint(client, B + "x")
    assert (503, True, 120.0) == (
        caught.value.status,
        caught.value.transient,
        caught.value.retry_after,
    )


async def test_not_found_is_not_transient(open_settings: Settings) -> None:
    """404 from the target is a DiscoveryError that retrying cannot mend."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, headers={"Link": '</wm>; rel="webmention"'})

    async with client_for(open_settings, handler) as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover_endpoint(client, B + "x")
    assert (404, False) == (caught.value.status, caught.value.transient)


async def test_loopback_target_is_refused(settings: Settings) -> None:
    """Without HEARTH_ALLOW_PRIVATE_NETWORKS a loopback target is never fetched."""
    called: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        called.append(request)
        return httpx.Response(200)

    async with client_for(settings, handler) as client:
        with pytest.raises(BlockedAddressError):
            await discover_endpoint(client, "http://127.0.0.1:8080/post")
    assert [] == called


async def test_redirect_to_private_address_is_refused(settings: Settings) -> None:
    """Every redirect hop passes the guard: a public page redirecting inward is refused."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://10.0.0.1/admin"})

    async with client_for(settings, handler) as client:
        with pytest.raises(BlockedAddressError):
            await discover_endpoint(client, "http://93.184.215.14/post")


async def test_redirect_loop_is_cut_off(open_settings: Settings) -> None:
    """More redirects than settings.http_max_redirects raise TooManyRedirects."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": f"/hop{len(seen)}"})

    async with client_for(open_settings, handler) as client:
        with pytest.raises(httpx.TooManyRedirects):
            await discover_endpoint(client, B + "start")
    assert open_settings.http_max_redirects + 1 == len(seen)


async def test_sends_accept_header_for_html(open_settings: Settings) -> None:
    """The GET asks for HTML first."""
    accepts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        accepts.append(request.headers["accept"])
        return html_response(page())

    async with client_for(open_settings, handler) as client:
        await discover_endpoint(client, B + "x")
    assert accepts[0].startswith("text/html")
