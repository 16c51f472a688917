"""Property: the Instagram webhook answers any request below 500, and queues only signed changes.

`syndication/instagram/webhook.py` is open to the internet: Meta posts signed deliveries
(`X-Hub-Signature-256`, HMAC-SHA256 of the body with the app secret) and checks the
subscription with a GET
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started). Hypothesis
generates the requests (profiles in tests/conftest.py): payloads of both shapes with values
of any JSON type, bodies that are not JSON or nest deeply, correct, wrong, malformed and
repeated signatures, and subscription checks with any parameters. The properties: no 5xx;
a body without a valid signature is 403 and queues nothing; a signed body that is not a
payload is 400 and queues nothing; a GET echoes the challenge only to the right token.

One app serves all the examples of a test (see tests/micropub/test_endpoint_properties.py
for why `HealthCheck.function_scoped_fixture` is suppressed); each example compares the jobs
right before and after its request.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hearth.server.core.models import Job
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import webhook
from tests.syndication.instagram.webhook_deliveries import (
    ACCOUNT,
    URL,
    VERIFY_TOKEN,
    sign,
    with_webhook_secrets,
)

shared_app = hypothesis_settings(
    suppress_health_check=[
        *hypothesis_settings().suppress_health_check,
        HealthCheck.function_scoped_fixture,
    ]
)

FIELDS = ["comments", "live_comments", "mentions", "messages", "story_insights", "", "x"]
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
    st.sampled_from([ACCOUNT, "17918195224117851", "\ud800", "\x00", "1e999"]),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["id", "text", "from", "media", "field", "value", "x"]),
                        inner, max_size=4),
    ),
    max_leaves=15,
)  # fmt: skip
changes = st.fixed_dictionaries(
    {}, optional={"field": st.one_of(st.sampled_from(FIELDS), json_values), "value": json_values}
)
entries = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(st.just(ACCOUNT), json_values),
            "time": json_values,
            "changes": st.one_of(
                st.lists(st.one_of(changes, json_values), max_size=3), json_values
            ),
            "field": st.one_of(st.sampled_from(FIELDS), json_values),
            "value": json_values,
        },
    ),
    json_values,
)
notifications = st.fixed_dictionaries(
    {"object": st.sampled_from(["instagram", "page", ""])},
    optional={"entry": st.one_of(st.lists(entries, max_size=3), json_values)},
)
payloads = st.one_of(notifications, st.lists(notifications, max_size=2), json_values)


def dumped(payload: Any) -> bytes:
    return json.dumps(payload).encode()  # \ud800 is written as an escape: valid JSON text


bodies = st.one_of(
    payloads.map(dumped),
    st.binary(max_size=80),
    st.sampled_from([b"", b"[" * 5000 + b"]" * 5000, b'{"entry": ' * 5000 + b"1" + b"}" * 5000,
                     b"\xef\xbb\xbf{}", b"NaN", b"1" * 5000,
                     b'{"entry": [{"changes": [{"field": "comments", "value": "\\ud800"}]}]}']),
)  # fmt: skip


@pytest.fixture(name="settings")
def webhook_settings(settings: Settings) -> Settings:
    return with_webhook_secrets(settings)


async def jobs() -> list[dict[str, Any]]:
    return await Job.all().order_by("id").values()


@shared_app
@given(bodies)
# Found by this property (each was a 500): nesting deeper than json.loads recurses, and a
# lone surrogate in a queued change's value (valid JSON, no text).
@example(body=b"[" * 5000 + b"]" * 5000)
@example(body=b'{"entry": [{"changes": [{"field": "comments", "value": "\\ud800"}]}]}')
async def test_a_signed_body_is_queued_or_refused_with_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    """A correctly signed body: 200 with only its wanted changes queued, or 400 (not a
    payload) or 413, with nothing queued."""
    before = await jobs()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
    response = await client.post(URL, content=body, headers=headers)
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics: what was reached
    assert response.status_code in (200, 400, 413), response.text
    after = await jobs()
    if response.status_code != 200:
        assert before == after, response.text
        return
    added = [job for job in after if job not in before]
    assert all(job["kind"] == webhook.KIND for job in added)
    assert all(job["payload"]["field"] in webhook.QUEUED_FIELDS for job in added)


def signature_headers() -> st.SearchStrategy[list[tuple[str, str]]]:
    """Signature headers that must not pass: none, malformed, of another body or secret,
    or several (even when one of them is right)."""
    wrong = st.one_of(
        st.text(max_size=80),
        st.builds(lambda hexed: "sha256=" + hexed, st.text(alphabet="0123456789abcdefABCDEFg",
                                                          min_size=63, max_size=65)),
        st.builds(lambda other: sign(other), st.binary(max_size=20)),
        st.builds(lambda secret: sign(b"{}", secret), st.text(min_size=1, max_size=10)),
        st.sampled_from(
            ["sha1=" + "0" * 40, "sha256=", "SHA256=" + "0" * 64, "sha256=" + "z" * 64]
        ),
    )  # fmt: skip
    return (
        st.lists(st.one_of(wrong, st.just("RIGHT")), max_size=3)
        .filter(lambda values: values != ["RIGHT"])
        .map(lambda values: [("X-Hub-Signature-256", value) for value in values])
    )


@shared_app
@given(st.one_of(payloads.map(dumped), st.binary(max_size=40)), signature_headers())
async def test_a_body_without_its_one_valid_signature_is_403_and_queues_nothing(
    client: httpx.AsyncClient, body: bytes, signatures: list[tuple[str, str]]
) -> None:
    """No, a malformed, a wrong, or more than one signature header: 403, nothing queued."""
    before = await jobs()
    headers = [("Content-Type", "application/json")]
    headers += [(name, sign(body) if value == "RIGHT" else value) for name, value in signatures]
    raw = [(k.encode(), v.encode("utf-8", "surrogatepass")) for k, v in headers]  # any bytes
    response = await client.post(URL, content=body, headers=raw)
    assert 403 == response.status_code, response.text
    assert before == await jobs()


PARAMS = ["hub.mode", "hub.verify_token", "hub.challenge", "hub.topic", "hub_mode"]
VALUES = ["subscribe", "unsubscribe", VERIFY_TOKEN, VERIFY_TOKEN + " ", "", "1158201444",
          "<script>alert(1)</script>"]  # fmt: skip


@shared_app
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PARAMS), st.one_of(st.sampled_from(VALUES), st.text(max_size=20))
        ),
        max_size=5,
    )
)
async def test_a_subscription_check_echoes_only_to_the_right_token(
    client: httpx.AsyncClient, params: list[tuple[str, str]]
) -> None:
    """Any GET: 200 echoing `hub.challenge` as plain text only for mode `subscribe` and the
    right verify token, else 403 (or 400 without a challenge, or with a NUL anywhere in the
    query: `core.nul_guard`); nothing queued."""
    before = await jobs()
    query = httpx.QueryParams(
        [(k, v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")) for k, v in params]
    )
    response = await client.get(URL, params=query)
    first = {name: query.get(name) for name in PARAMS}
    right = first["hub.mode"] == "subscribe" and first["hub.verify_token"] == VERIFY_TOKEN
    if response.status_code == 200:
        assert right and response.text == first["hub.challenge"]
        assert response.headers["content-type"].startswith("text/plain")
    elif any("\x00" in key + value for key, value in query.multi_items()):
        assert response.status_code == 400, response.text
    else:
        assert response.status_code == (400 if right else 403), response.text
    assert before == await jobs()
