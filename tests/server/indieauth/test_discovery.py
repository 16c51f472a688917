"""Discovering a visitor's IndieAuth server (https://indieauth.spec.indieweb.org/#discovery-by-clients):
against the fake server on loopback through the guarded client, and made-up answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from hearth.server.core.http import create_http_client
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.indieauth.discovery import (
    AuthServer,
    DiscoveryFailed,
    discover,
    html_rels,
    link_rels,
)
from tests.server.indieauth.fake_indieauth import FakeIndieAuth, closed_port_url, serving

OPEN = Settings(allowed_private_networks=ALL_NETWORKS)


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeIndieAuth]:
    with serving() as fake:
        yield fake


@pytest.fixture(name="http")
async def http_fixture() -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(OPEN) as client:
        yield client


async def test_link_header_beats_the_page(fake: FakeIndieAuth, http: httpx.AsyncClient) -> None:
    """/alice/ has the metadata in its Link header and a different <link>: the header wins."""
    found = await discover(http, fake.base + "alice/")
    assert fake.issuer == found.issuer
    assert fake.base + "auth" == found.authorization_endpoint
    assert fake.base + "token" == found.token_endpoint
    assert (fake.base + "alice/",) == found.seen_urls


async def test_first_link_element_resolved_against_the_page(
    fake: FakeIndieAuth, http: httpx.AsyncClient
) -> None:
    """/html/: the first rel=indieauth-metadata <link> ("../metadata"), not the second, and
    not the legacy link before it."""
    found = await discover(http, fake.base + "html/")
    assert fake.issuer == found.issuer
    assert fake.base + "auth" == found.authorization_endpoint


async def test_permanent_redirect_moves_the_profile(
    fake: FakeIndieAuth, http: httpx.AsyncClient
) -> None:
    found = await discover(http, fake.base + "moved/")
    assert (fake.base + "moved/", fake.base + "alice/") == found.seen_urls
    assert fake.base + "alice/" == found.profile_url
    assert fake.issuer == found.issuer


async def test_temporary_redirect_keeps_the_profile(
    fake: FakeIndieAuth, http: httpx.AsyncClient
) -> None:
    found = await discover(http, fake.base + "temp/")
    assert (fake.base + "temp/", fake.base + "alice/") == found.seen_urls
    assert fake.base + "temp/" == found.profile_url


async def test_legacy_authorization_endpoint(fake: FakeIndieAuth, http: httpx.AsyncClient) -> None:
    found = await discover(http, fake.base + "legacy/")
    assert found.issuer is None
    assert fake.base + "auth" == found.authorization_endpoint


async def test_redirect_limit(fake: FakeIndieAuth, http: httpx.AsyncClient) -> None:
    with pytest.raises(DiscoveryFailed, match="redirects more than 5 times"):
        await discover(http, fake.base + "loop/0")


async def test_no_endpoints(fake: FakeIndieAuth, http: httpx.AsyncClient) -> None:
    with pytest.raises(DiscoveryFailed, match="does not name an IndieAuth server") as failed:
        await discover(http, fake.base + "none/")
    assert 400 == failed.value.status


async def test_site_down(http: httpx.AsyncClient) -> None:
    with pytest.raises(DiscoveryFailed, match="Could not reach") as failed:
        await discover(http, closed_port_url())
    assert 502 == failed.value.status


async def test_private_address_refused_without_the_setting() -> None:
    async with create_http_client(Settings()) as client:
        with pytest.raises(DiscoveryFailed, match="not on a public network address"):
            await discover(client, "http://127.0.0.1:9/")


# Made-up answers ------------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


async def discover_with(handler: Handler, url: str = "https://alice.example/") -> AuthServer:
    transport = httpx.MockTransport(handler)
    async with create_http_client(OPEN, transport=transport) as client:
        return await discover(client, url)


def site(profile: httpx.Response, metadata: httpx.Response | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/meta":
            assert metadata is not None
            return metadata
        return profile

    return handler


GOOD_METADATA = {
    "issuer": "https://auth.example/",
    "authorization_endpoint": "https://auth.example/authorize",
}


async def test_page_metadata_beats_a_legacy_header() -> None:
    profile = httpx.Response(
        200,
        headers={"Link": '<https://old.example/auth>; rel="authorization_endpoint"'},
        html='<link rel="indieauth-metadata" href="https://auth.example/meta">',
    )
    found = await discover_with(site(profile, httpx.Response(200, json=GOOD_METADATA)))
    assert "https://auth.example/" == found.issuer


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (httpx.Response(200, text="not json"), "not a JSON object"),
        (httpx.Response(200, json=["a list"]), "not a JSON object"),
        (httpx.Response(500, text="oops"), "HTTP 500"),
        (httpx.Response(200, json={"issuer": "https://auth.example/"}), "lacks"),
        (
            httpx.Response(200, json={**GOOD_METADATA, "issuer": "https://other.example/"}),
            "issuer it may not use",
        ),
        (
            httpx.Response(200, json={**GOOD_METADATA, "authorization_endpoint": "javascript:x"}),
            "lacks",
        ),
    ],
)
async def test_bad_metadata(metadata: httpx.Response, message: str) -> None:
    profile = httpx.Response(200, headers={"Link": '</meta>; rel="indieauth-metadata"'})
    with pytest.raises(DiscoveryFailed, match=message):
        await discover_with(site(profile, metadata), "https://auth.example/")


async def test_profile_error_status() -> None:
    with pytest.raises(DiscoveryFailed, match="HTTP 404"):
        await discover_with(site(httpx.Response(404, html="gone")))


def test_link_rels_first_of_each() -> None:
    headers = [
        '<a>; rel="other", </m1>; rel="indieauth-metadata"',
        '</m2>; rel="indieauth-metadata", <https://x.example/auth>; rel="authorization_endpoint"',
    ]
    assert {
        "indieauth-metadata": "https://s.example/m1",
        "authorization_endpoint": "https://x.example/auth",
    } == link_rels(headers, "https://s.example/p/")


def test_html_rels_only_link_elements() -> None:
    html = (
        b'<a rel="indieauth-metadata" href="/a">a</a><!-- <link rel="indieauth-metadata" '
        b'href="/c"> --><link rel="Me indieauth-metadata" href=" m ">'
        b'<link rel="indieauth-metadata">'
    )
    assert {"indieauth-metadata": "https://s.example/p/m"} == html_rels(
        html, "https://s.example/p/", None
    )


async def test_redirect_to_a_broken_url() -> None:
    broken = httpx.Response(302, headers={"Location": "http://[::1"})
    with pytest.raises(DiscoveryFailed, match="could not be understood"):
        await discover_with(site(broken))


async def test_broken_link_urls_are_skipped() -> None:
    profile = httpx.Response(
        200,
        headers={"Link": '<http://[x>; rel="indieauth-metadata"'},
        html='<link rel="indieauth-metadata" href="http://[y"><link rel="authorization_endpoint"'
        ' href="/auth">',
    )
    found = await discover_with(site(profile))
    assert "https://alice.example/auth" == found.authorization_endpoint
    assert found.issuer is None


async def test_metadata_url_httpx_cannot_fetch() -> None:
    profile = httpx.Response(
        200, headers={"Link": '<http://a b.example/>; rel="indieauth-metadata"'}
    )
    with pytest.raises(DiscoveryFailed, match="a b.example"):
        await discover_with(site(profile))
