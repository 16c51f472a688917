"""Property: `POST /webmention` answers any request below 500, and a refusal stores nothing.

Webmention §3.2.1 (https://www.w3.org/TR/webmention/#request-verification) has the receiver
check `source` and `target` before it accepts anything; §3.2.3 answers a bad request with
400. Anyone may send anything here, so Hypothesis generates the requests: valid-looking URLs
of this site and others, garbage, IP spellings (`http://0177.0.0.1/`), Unicode hosts, huge
strings, missing and repeated fields, bodies that are not UTF-8 or not forms, for sites and
for browsers. Every answer must be 201 (with the status page) or a refusal (400, or 429/503
from the limits, which are set high here so they do not hide the checks), and a refusal
must leave the stored responses and queued jobs as they were.

One app serves all the examples of a test (see tests/micropub/test_endpoint_properties.py
for why `HealthCheck.function_scoped_fixture` is suppressed); each example compares what is
stored right before and after its request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hearth.server.core.models import Interaction, Job, Post
from hearth.server.core.settings import Settings
from hearth.server.webmention.webmention_settings import with_webmention

shared_app = hypothesis_settings(
    suppress_health_check=[
        *hypothesis_settings().suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ]
)

POST_URL = "https://example.test/2026/05/hello"
SOURCES = [
    "https://alice.example/replies/1", "http://alice.example", "https://ALICE.example:443/x#y",
    "http://0177.0.0.1/", "http://0x7f.1/", "http://2130706433/", "http://127.1/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://localhost/", "http://10.0.0.7/",
    "https://bücher.example/", "https://xn--bcher-kva.example/", "https://exa mple.com/",
    "https://a..b/", "https://" + "a" * 64 + ".example/", "https://-a.example/",
    "ftp://alice.example/", "javascript:alert(1)", "//alice.example/", "https://:80/",
    "https://alice.example:99999/", "https://user:pw@alice.example/", "https://alice.example/\x00",
    "https://alice.example/" + "x" * 3000, "", " ", "source",
]  # fmt: skip
TARGETS = [
    POST_URL, POST_URL + "#comment", "http://example.test/2026/05/hello", "https://example.test/s/1",
    "HTTPS://EXAMPLE.TEST/2026/05/hello", "https://example.test/", "https://example.test/admin/",
    "https://example.test/2026/05/nope", "https://example.test/2026/05/hello/extra",
    "https://example.test/%2e%2e/2026/05/hello", "https://example.test:443/2026/05/hello",
    "https://example.test:8443/2026/05/hello", "https://other.example/2026/05/hello",
    "https://example.test/2026/05/%00", "https://example.test/s/", "https://example.test/s/%ff",
]  # fmt: skip

urls = st.one_of(
    st.sampled_from(SOURCES),
    st.sampled_from(TARGETS),
    st.text(max_size=40),
    st.builds(lambda host, path: f"https://{host}/{path}", st.text(min_size=1, max_size=15),
              st.text(max_size=15)),
)  # fmt: skip
field_names = st.one_of(
    st.sampled_from(["source", "target", "Source", "vouch"]), st.text(max_size=8)
)


@pytest.fixture(name="settings")
def generous_settings(settings: Settings) -> Settings:
    """Limits out of reach: the examples are many webmentions a minute from few hosts."""
    return with_webmention(settings, per_host_per_minute=10**9, per_minute=10**9, max_queued=10**9)


async def stored_state() -> tuple[Any, ...]:
    """The stored responses and the queued jobs."""
    return (
        await Interaction.all().order_by("id").values(),
        await Job.all().order_by("id").values(),
    )


def encode(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"))


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    """source and target (each maybe missing or repeated) among other fields, encoded or not."""
    fields: list[tuple[str, str]] = []
    if draw(st.booleans()):  # often a valid pair, so the checks after the URLs' run too
        fields += [("source", draw(st.sampled_from(SOURCES[:3]))), ("target", POST_URL)]
    for name in ("source", "target"):
        fields += [(name, draw(urls)) for _ in range(draw(st.integers(0, 2)))]
    fields += draw(st.lists(st.tuples(field_names, urls), max_size=3))
    fields = draw(st.permutations(fields))
    if draw(st.booleans()):
        return "&".join(f"{encode(k)}={encode(v)}" for k, v in fields).encode()
    return "&".join(f"{k}={v}" for k, v in fields).encode("utf-8", "surrogatepass")


@shared_app
@given(
    st.one_of(form_bodies(), st.binary(max_size=100), st.just(b"source=" + b"a" * 20000)),
    st.sampled_from(
        ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
         "multipart/form-data", "application/json", "text/plain", ""]
    ),
    st.sampled_from(["*/*", "text/html,application/xhtml+xml", "application/json"]),
)  # fmt: skip
async def test_any_request_is_answered_and_a_refusal_stores_nothing(
    client: httpx.AsyncClient, post: Post, body: bytes, content_type: str, accept: str
) -> None:
    """201 with the status page, or 400 (or the limits' 429/503); refused: nothing stored."""
    before = await stored_state()
    headers = {"Content-Type": content_type, "Accept": accept}
    response = await client.post("/webmention", content=body, headers=headers)
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics: what was reached
    assert response.status_code in (201, 400, 429, 503), response.text
    if response.status_code == 201:
        assert response.headers["location"].startswith("https://example.test/webmention/status/")
        return
    assert before == await stored_state(), response.text
    if "text/html" in accept:
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.strip()


@shared_app
@given(urls, st.sampled_from(TARGETS))
async def test_a_source_is_taken_only_as_a_public_http_url(
    client: httpx.AsyncClient, post: Post, source: str, target: str
) -> None:
    """Any source to a target of this site: 201 only for an absolute http(s) source (its
    verification will fetch it), else 400 with nothing stored."""
    before = await stored_state()
    response = await client.post("/webmention", data={"source": source, "target": target})
    event(f"HTTP {response.status_code}")
    assert response.status_code in (201, 400), response.text
    if response.status_code == 201:
        assert source.strip().lower().startswith(("http://", "https://"))
    else:
        assert before == await stored_state(), response.text


@shared_app
@given(st.text(max_size=60), st.sampled_from(["text/html", "application/json", "*/*"]))
async def test_any_status_token_is_404_or_the_status_page(
    client: httpx.AsyncClient, token: str, accept: str
) -> None:
    """`GET /webmention/status/{token}` with any token: a page (200) or 404, never a 5xx."""
    path = "/webmention/status/" + quote(token.encode("utf-8", "surrogatepass"), safe="")
    response = await client.get(path, headers={"Accept": accept})
    assert response.status_code in (200, 404), response.text
