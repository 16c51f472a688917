"""The Instagram webhook: subscription check, signed deliveries, replays and dedup."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hearth.app import create_app
from hearth.server.core.models import Job
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import webhook
from hearth.syndication.instagram.silo_settings import with_instagram
from tests.conftest import seed_database
from tests.syndication.instagram.webhook_deliveries import (
    ACCOUNT,
    URL,
    VERIFY_TOKEN,
    change_jobs,
    comment_value,
    deliver,
    flat_payload,
    nested_payload,
    sign,
    with_webhook_secrets,
)


@pytest.fixture(name="settings")
def instagram_settings_fixture(settings: Settings) -> Settings:
    return with_webhook_secrets(settings)


@pytest.fixture(name="bare_client")
async def bare_client_fixture(
    settings: Settings, migrated_sqlite: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with no Instagram secrets configured at all."""
    bare = with_instagram(settings, app_secret=None, verify_token=None)
    seed_database(bare, migrated_sqlite)
    app: Starlette = create_app(bare)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://example.test/") as c:
            yield c


# -- GET: subscription check ---------------------------------------------------------------


async def test_challenge_is_echoed(client: httpx.AsyncClient) -> None:
    """The right mode and verify token get the challenge back, as plain text."""
    params = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": VERIFY_TOKEN,
    }
    response = await client.get(URL, params=params)
    assert 200 == response.status_code
    assert "1158201444" == response.text
    assert response.headers["content-type"].startswith("text/plain")


async def test_wrong_verify_token_is_forbidden(client: httpx.AsyncClient) -> None:
    """A wrong verify token is 403 and the challenge is not echoed."""
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "x"}
    response = await client.get(URL, params=params)
    assert 403 == response.status_code
    assert "1158201444" not in response.text


async def test_missing_verify_token_is_forbidden(client: httpx.AsyncClient) -> None:
    """No verify token in the request is 403."""
    response = await client.get(URL, params={"hub.mode": "subscribe", "hub.challenge": "1"})
    assert 403 == response.status_code


async def test_wrong_mode_is_forbidden(client: httpx.AsyncClient) -> None:
    """Any mode but subscribe is 403, even with the right token."""
    params = {"hub.mode": "unsubscribe", "hub.challenge": "1", "hub.verify_token": VERIFY_TOKEN}
    response = await client.get(URL, params=params)
    assert 403 == response.status_code


async def test_no_verify_token_configured_is_forbidden(bare_client: httpx.AsyncClient) -> None:
    """Without a configured verify token no subscription check passes, not even an empty one."""
    params = {"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": ""}
    response = await bare_client.get(URL, params=params)
    assert 403 == response.status_code


# -- POST: signed deliveries -----------------------------------------------------------------


async def test_signed_delivery_queues_one_job_per_change(client: httpx.AsyncClient) -> None:
    """A correctly signed delivery is 200 and queues one job per change, with its payload."""
    values = [comment_value("1001"), comment_value("1002")]
    response = await deliver(client, nested_payload(*values))
    assert 200 == response.status_code
    queued = await change_jobs()
    assert values == [job.payload["value"] for job in queued]
    assert {
        "field": "comments",
        "value": values[0],
        "entry_id": ACCOUNT,
        "time": 1520622968,
    } == queued[0].payload


async def test_missing_signature_is_forbidden(client: httpx.AsyncClient) -> None:
    """No X-Hub-Signature-256: 403 and no job."""
    response = await deliver(client, nested_payload(comment_value("1001")), signature=None)
    assert 403 == response.status_code
    assert [] == await change_jobs()


async def test_wrong_signature_is_forbidden(client: httpx.AsyncClient) -> None:
    """A signature made with another secret: 403 and no job."""
    body = json.dumps(nested_payload(comment_value("1001"))).encode()
    headers = {"X-Hub-Signature-256": sign(body, "not-the-secret")}
    response = await client.post(URL, content=body, headers=headers)
    assert 403 == response.status_code
    assert [] == await change_jobs()


async def test_signature_of_another_body_is_forbidden(client: httpx.AsyncClient) -> None:
    """A valid signature of a different body (a tampered delivery): 403 and no job."""
    original = json.dumps(nested_payload(comment_value("1001"))).encode()
    tampered = json.dumps(nested_payload(comment_value("1001", text="spam"))).encode()
    headers = {"X-Hub-Signature-256": sign(original)}
    response = await client.post(URL, content=tampered, headers=headers)
    assert 403 == response.status_code
    assert [] == await change_jobs()


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha256=zz" + "0" * 62,
        "sha256=abc",
        "sha1=" + "0" * 40,
        "0" * 64,
    ],
)
async def test_malformed_signature_header_is_forbidden(
    client: httpx.AsyncClient, header: str
) -> None:
    """A header that is not `sha256=<64 hex digits>`: 403 and no job."""
    response = await deliver(client, nested_payload(comment_value("1001")), signature=header)
    assert 403 == response.status_code
    assert [] == await change_jobs()


async def test_uppercase_hex_signature_is_accepted(client: httpx.AsyncClient) -> None:
    """The hex digest is compared as bytes, so its letter case does not matter."""
    body = json.dumps(nested_payload(comment_value("1001"))).encode()
    prefix, digest = sign(body).split("=", 1)
    headers = {"X-Hub-Signature-256": f"{prefix}={digest.upper()}"}
    response = await client.post(URL, content=body, headers=headers)
    assert 200 == response.status_code
    assert 1 == len(await change_jobs())


async def test_no_app_secret_configured_is_forbidden(bare_client: httpx.AsyncClient) -> None:
    """Without an app secret nothing can be verified, so every delivery is 403."""
    response = await deliver(bare_client, nested_payload(comment_value("1001")))
    assert 403 == response.status_code
    assert [] == await change_jobs()


async def test_replayed_delivery_has_the_effect_of_one(client: httpx.AsyncClient) -> None:
    """Ten deliveries of the same changes (Meta's retries, new `time` each) queue each once."""
    values = [comment_value("1001"), comment_value("1002")]
    for attempt in range(10):
        payload = nested_payload(*values)
        payload["entry"][0]["time"] = 1520622968 + attempt
        assert 200 == (await deliver(client, payload)).status_code
    assert values == [job.payload["value"] for job in await change_jobs()]


async def test_flat_payload_shape_is_accepted(client: httpx.AsyncClient) -> None:
    """The flat `entry[].field/value` shape (a top-level list) queues its change."""
    value = comment_value("1001")
    response = await deliver(client, flat_payload(value))
    assert 200 == response.status_code
    queued = await change_jobs()
    assert [("comments", value, ACCOUNT)] == [
        (job.payload["field"], job.payload["value"], job.payload["entry_id"]) for job in queued
    ]


async def test_both_shapes_of_one_change_are_one_job(client: httpx.AsyncClient) -> None:
    """The same change, nested or flat, has the same key: one job."""
    value = comment_value("1001")
    assert 200 == (await deliver(client, nested_payload(value))).status_code
    assert 200 == (await deliver(client, flat_payload(value))).status_code
    assert 1 == len(await change_jobs())


async def test_bad_json_is_rejected(client: httpx.AsyncClient) -> None:
    """A signed body that is not JSON is 400 and queues nothing."""
    body = b'{"object": "instagram", "entry": ['
    response = await client.post(URL, content=body, headers={"X-Hub-Signature-256": sign(body)})
    assert 400 == response.status_code
    assert 0 == await Job.all().count()


async def test_signed_non_payload_is_rejected(client: httpx.AsyncClient) -> None:
    """Signed JSON of the wrong structure is 400 and queues nothing, not even valid changes."""
    payload = nested_payload(comment_value("1001"))
    payload["entry"].append("not an entry")
    response = await deliver(client, payload)
    assert 400 == response.status_code
    assert 0 == await Job.all().count()


async def test_oversized_body_is_rejected(client: httpx.AsyncClient) -> None:
    """A body over the limit is 413, even when correctly signed, and queues nothing."""
    body = b" " * (webhook.MAX_BODY + 1)
    response = await client.post(URL, content=body, headers={"X-Hub-Signature-256": sign(body)})
    assert 413 == response.status_code
    assert 0 == await Job.all().count()


async def test_unwanted_fields_are_acknowledged_and_dropped(client: httpx.AsyncClient) -> None:
    """A messaging change is 200 (Meta stops retrying) but nothing is stored."""
    payload = nested_payload({"sender": {"id": "1"}, "message": {"text": "hi"}}, field="messages")
    response = await deliver(client, payload)
    assert 200 == response.status_code
    assert 0 == await Job.all().count()
