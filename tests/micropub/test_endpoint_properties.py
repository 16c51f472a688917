"""Property: `/micropub` answers any request with a status below 500, a refusal as the spec's
JSON error, and a refused request changes nothing stored.

The real app over ASGI, authenticated with a token of every scope, gets generated form,
JSON (create, update, delete and undelete with generated URLs and operations) and multipart
bodies, and generated queries. Micropub §3.8 (https://www.w3.org/TR/micropub/#error-response)
wants every error as `{"error": code}` in JSON; a 5xx would be a bug, and so would a 4xx that
stored part of the request (posts, their categories, redirects, receipts, media rows or files,
queued jobs). Hypothesis generates the requests (profiles in tests/conftest.py).

One app serves all the examples of a test (a new app per example would cost its start-up
each time): its database grows with the posts the accepted requests create, which is what a
long-running server sees too. That is why `HealthCheck.function_scoped_fixture` is
suppressed below; each example compares what is stored right before and after its request,
so the examples do not depend on each other's outcome.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hearth.server.core.models import (
    Job,
    Media,
    MicropubReceipt,
    PathRedirect,
    Post,
    PostAudience,
    PostCategory,
)
from hearth.server.core.settings import Settings
from tests.micropub.endpoint_helpers import ENDPOINT, FORM_TYPE, bearer, image_bytes
from tests.micropub.test_parsers_properties import (
    KNOWN_KEYS,
    KNOWN_VALUES,
    form_fields,
    json_values,
    micropub_documents,
    property_maps,
)

# The app and token are made once per test and reused by its examples (see the docstring).
shared_app = hypothesis_settings(
    suppress_health_check=[
        *hypothesis_settings().suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ]
)

# Micropub §3.8, and OAuth's temporarily_unavailable (micropub/errors.py).
ERROR_CODES = {
    "invalid_request", "unauthorized", "forbidden", "insufficient_scope",
    "temporarily_unavailable",
}  # fmt: skip
POST_URL = "https://example.test/2026/05/hello"
# URLs an action may name: the post, its short link and spellings of them, and strangers.
URLS = [
    POST_URL, POST_URL + "/", POST_URL + "#x", POST_URL.upper(), "http://example.test/2026/05/hello",
    "https://example.test/s/1", "https://example.test/", "https://example.test/2026/05/nope",
    "https://other.example/2026/05/hello", "/2026/05/hello", "https://example.test/%00",
    "https://exa mple.test/", "https://[::1/", "", "x" * 3000,
]  # fmt: skip
STORED_MODELS = (Post, PostCategory, PostAudience, PathRedirect, MicropubReceipt, Media, Job)


@pytest.fixture(name="headers")
async def headers_fixture(post: Post) -> dict[str, str]:
    """A token of every scope; `post` (tests/conftest.py) is there to be updated."""
    return await bearer("create update delete undelete media draft read")


async def stored_state(settings: Settings) -> tuple[Any, ...]:
    """Every row a Micropub request may write, and the files of the media store."""
    rows = [await model.all().order_by(model._meta.pk_attr).values() for model in STORED_MODELS]
    media = Path(settings.data_dir) / "media"
    files = sorted(str(p) for p in media.rglob("*")) if media.exists() else []
    return (*rows, files)


def check_answer(response: httpx.Response) -> None:
    """Below 500: a 4xx is a §3.8 JSON error, anything else a success the spec names."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        assert response.status_code in (200, 201, 204), response.text
    else:
        assert response.headers["content-type"] == "application/json", response.text
        body = response.json()
        assert isinstance(body, dict) and body["error"] in ERROR_CODES, body
        assert set(body) <= {"error", "error_description", "scope"}
        assert all(isinstance(value, str) for value in body.values())


async def refused_changes_nothing(
    client: httpx.AsyncClient, settings: Settings, **request: Any
) -> httpx.Response:
    """POST `request` to the endpoint, check the answer, and that a refusal stored nothing."""
    before = await stored_state(settings)
    response = await client.post(ENDPOINT, **request)
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics: what was reached
    check_answer(response)
    if response.status_code >= 400:
        assert before == await stored_state(settings), response.text
    return response


def form_body(fields: list[tuple[str, str]], raw: bool) -> bytes:
    """Fields percent-encoded, or sent as curl -d does (raw UTF-8, `&` and `=` kept)."""

    def encode(text: str) -> str:
        return text if raw else quote(text.encode("utf-8", "surrogatepass"))

    joined = "&".join(f"{encode(k)}={encode(v)}" for k, v in fields)
    return joined.encode("utf-8", "surrogatepass")


@shared_app
@given(form_fields, st.booleans())
async def test_form_posts_are_answered_and_refusals_store_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    headers: dict[str, str],
    fields: list[tuple[str, str]],
    raw: bool,
) -> None:
    """Generated form-encoded creates, deletes and undeletes (the token may be in the body)."""
    content = form_body(fields, raw)
    await refused_changes_nothing(
        client, settings, content=content, headers={**headers, "Content-Type": FORM_TYPE}
    )


@st.composite
def json_requests(draw: st.DrawFn) -> bytes:
    """A JSON body: a create, or an action on a URL of the site (or not) with operations."""
    doc = draw(micropub_documents())
    if draw(st.booleans()):
        doc["action"] = draw(st.sampled_from(["update", "delete", "undelete"]))
        doc["url"] = draw(st.one_of(st.sampled_from(URLS), st.text(max_size=40)))
        if doc["action"] == "update":
            for op in ("replace", "add", "delete"):
                if draw(st.booleans()):
                    doc[op] = draw(st.one_of(property_maps, st.lists(st.sampled_from(KNOWN_KEYS))))
    body = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    return body.encode("utf-8", "surrogatepass")


# Requests of the right shape with generated values: most are accepted, so the examples
# also reach the writes (and the refusals that come late, after the post was looked up).
NAMES = [
    "content", "name", "summary", "category", "photo", "published", "post-status", "visibility",
    "in-reply-to", "like-of", "location", "mp-slug", "mp-syndicate-to", "x-unknown",
]  # fmt: skip
site_urls = st.one_of(st.just(POST_URL), st.sampled_from(URLS))  # mostly the post
plain_values = st.one_of(
    st.sampled_from(KNOWN_VALUES),
    st.text(max_size=20),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.fixed_dictionaries({"value": st.text(max_size=10)}, optional={"alt": st.text(max_size=10)}),
    st.fixed_dictionaries({"html": st.text(max_size=20)}),
    st.fixed_dictionaries(
        {"type": st.just(["h-card"])},
        optional={"properties": st.dictionaries(st.sampled_from(NAMES), st.lists(st.text()))},
    ),
)
plain_properties = st.dictionaries(
    st.sampled_from(NAMES), st.lists(plain_values, min_size=1, max_size=3), min_size=1, max_size=4
)
well_formed_requests = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from([["h-entry"], ["h-event"]]), "properties": plain_properties}
    ),
    st.fixed_dictionaries(
        {"action": st.just("update"), "url": site_urls},
        optional={
            "replace": plain_properties,
            "add": plain_properties,
            "delete": st.one_of(st.lists(st.sampled_from(NAMES)), plain_properties),
        },
    ),
    st.fixed_dictionaries({"action": st.sampled_from(["delete", "undelete"]), "url": site_urls}),
).map(lambda doc: json.dumps(doc).encode())


@shared_app
@given(
    st.one_of(json_requests(), well_formed_requests, st.binary(max_size=100)),
    st.sampled_from(["application/json", "application/json; charset=utf-8", "application/JSON"]),
)
async def test_json_posts_are_answered_and_refusals_store_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    headers: dict[str, str],
    body: bytes,
    content_type: str,
) -> None:
    """Generated JSON creates, updates, deletes and undeletes of the post and of others."""
    await refused_changes_nothing(
        client, settings, content=body, headers={**headers, "Content-Type": content_type}
    )


FILE_PARTS = ["photo", "photo[]", "video", "audio", "file", "photo[value]", ""]
file_contents = st.one_of(
    st.just(image_bytes()), st.just(image_bytes("PNG", (3, 2))), st.binary(max_size=64)
)


@shared_app
@given(
    st.lists(st.tuples(st.sampled_from(KNOWN_KEYS), st.sampled_from(KNOWN_VALUES)), max_size=6),
    st.lists(
        st.tuples(st.sampled_from(FILE_PARTS), st.text(max_size=10), file_contents), max_size=3
    ),
)
async def test_multipart_posts_are_answered_and_refusals_store_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    headers: dict[str, str],
    fields: list[tuple[str, str]],
    files: list[tuple[str, str, bytes]],
) -> None:
    """Generated multipart creates: text parts and file parts of any name and content (a
    refused file must leave no media row or file behind)."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    await refused_changes_nothing(
        client,
        settings,
        data=data,
        files=[(name, (filename, data, "image/jpeg")) for name, filename, data in files]
        or [("photo", ("a.jpg", image_bytes(), "image/jpeg"))],
        headers=headers,
    )


QUERY_NAMES = ["q", "url", "limit", "after", "properties[]", "properties", "filter", "q[]"]
QUERY_VALUES = [
    "config", "source", "syndicate-to", "category", "post-types", "", "0", "101", "-1", "1e3",
    "20", "ZmFrZQ", "!!!", *URLS,
]  # fmt: skip


@shared_app
@given(
    st.tuples(
        st.one_of(
            st.tuples(
                st.just("q"), st.sampled_from(["config", "source", "syndicate-to", "category"])
            ),
            st.just(("q", "source")),
        ),
        st.lists(
            st.tuples(
                st.sampled_from(QUERY_NAMES),
                st.one_of(st.sampled_from(QUERY_VALUES), st.text(max_size=30)),
            ),
            max_size=5,
        ),
    ).map(lambda drawn: [drawn[0], *drawn[1]])
)
async def test_queries_are_answered_with_json(
    client: httpx.AsyncClient, headers: dict[str, str], params: list[tuple[str, str]]
) -> None:
    """Generated `GET /micropub` queries: 200 with a JSON object, or a §3.8 JSON error."""
    query = "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in params)
    response = await client.get(f"{ENDPOINT}?{query}", headers=headers)
    event(f"HTTP {response.status_code}")
    check_answer(response)
    if response.status_code == 200:
        assert isinstance(orjson.loads(response.content), dict)


@shared_app
@given(st.one_of(json_values, st.text(max_size=40)))
async def test_unauthenticated_posts_are_refused_and_store_nothing(
    client: httpx.AsyncClient, settings: Settings, headers: dict[str, str], token: Any
) -> None:
    """A JSON create with a wrong or malformed token is a 401 JSON error; nothing stored."""
    doc = {"type": ["h-entry"], "properties": {"content": ["hi"]}}
    authorization = f"Bearer {token}" if isinstance(token, str) else json.dumps(token)
    try:
        authorization.encode("ascii")
    except UnicodeEncodeError:
        authorization = quote(authorization)
    response = await refused_changes_nothing(
        client,
        settings,
        content=orjson.dumps(doc),
        headers={"Content-Type": "application/json", "Authorization": authorization},
    )
    assert 401 == response.status_code
