"""The Instagram webhook: subscription check, signed deliveries, dedup and the change job."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret

from server import jobs, tasks
from server.app import create_app
from server.models import InstagramMedia, Job, JobState
from server.settings import Settings
from server.worker import Handler, JobContext, Worker
from syndication.instagram import webhook
from tests.conftest import seed_database

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "meatyhamhock"
URL = "syndication/instagram/webhook"
ACCOUNT = "17841405726653026"
KNOWN_MEDIA = "17918195224117851"


@pytest.fixture(name="settings")
def instagram_settings_fixture(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        instagram_app_secret=Secret(APP_SECRET),
        instagram_verify_token=Secret(VERIFY_TOKEN),
    )


@pytest.fixture(name="bare_client")
async def bare_client_fixture(
    settings: Settings, migrated_sqlite: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with no Instagram secrets configured at all."""
    bare = dataclasses.replace(settings, instagram_app_secret=None, instagram_verify_token=None)
    seed_database(bare, migrated_sqlite)
    app: Starlette = create_app(bare)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://example.test/") as c:
            yield c


def comment_value(comment_id: str, media_id: str = KNOWN_MEDIA, text: str = "Nice!") -> Any:
    return {
        "id": comment_id,
        "from": {"id": "232323232", "username": "someone"},
        "text": text,
        "media": {"id": media_id, "media_product_type": "FEED"},
    }


def nested_payload(*values: Any, field: str = "comments") -> dict[str, Any]:
    changes = [{"field": field, "value": value} for value in values]
    return {
        "object": "instagram",
        "entry": [{"id": ACCOUNT, "time": 1520622968, "changes": changes}],
    }


def flat_payload(value: Any, field: str = "comments") -> list[dict[str, Any]]:
    entry = {"id": ACCOUNT, "time": 1520622968, "field": field, "value": value}
    return [{"object": "instagram", "entry": [entry]}]


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(
    client: httpx.AsyncClient, payload: Any, *, signature: str | None = "sign"
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post(URL, content=body, headers=headers)


async def change_jobs() -> list[Job]:
    return await Job.filter(kind=webhook.KIND).order_by("id")


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


# -- the instagram.webhook_change job -------------------------------------------------------


@pytest.fixture(name="followups")
def followups_fixture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Handler]:
    """Pretend the poller slice registered `instagram.poll` and `instagram.comment_changed`."""

    async def later(ctx: JobContext, payload: dict[str, Any]) -> None:
        """The real handlers belong to the poller slice; here they just succeed."""

    real: Callable[[], dict[str, Handler]] = tasks.job_handlers
    extra: dict[str, Handler] = {webhook.POLL: later, webhook.COMMENT_CHANGED: later}
    monkeypatch.setattr(tasks, "job_handlers", lambda: {**real(), **extra})
    return {**real(), **extra}


async def run_change_jobs(settings: Settings, handlers: dict[str, Handler]) -> None:
    """Run every due job through a real worker until none is left."""
    worker = Worker(settings, handlers)
    for _ in range(100):
        if not await worker.run_once():
            return
    raise AssertionError("the queue never ran dry")


async def test_known_media_comment_becomes_comment_changed(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """A comment on a media Hearth has copied queues `instagram.comment_changed`."""
    await InstagramMedia.create(media_id=KNOWN_MEDIA)
    value = comment_value("1001", text="Lovely light") | {"parent_id": "999"}
    await deliver(client, nested_payload(value))
    await run_change_jobs(settings, followups)
    [followup] = await Job.filter(kind=webhook.COMMENT_CHANGED)
    assert {
        "media_id": KNOWN_MEDIA,
        "comment_id": "1001",
        "text": "Lovely light",
        "from": {"id": "232323232", "username": "someone"},
        "parent_id": "999",
    } == followup.payload
    assert 0 == await Job.filter(kind=webhook.POLL).count()
    assert [JobState.DONE] == [job.state for job in await change_jobs()]


async def test_unknown_media_comment_triggers_a_poll(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """A comment on a media Hearth does not know yet queues one `instagram.poll`."""
    await deliver(client, nested_payload(comment_value("1001", media_id="555")))
    await run_change_jobs(settings, followups)
    [poll] = await Job.filter(kind=webhook.POLL)
    assert "555" == poll.payload["media_id"]
    assert 0 == await Job.filter(kind=webhook.COMMENT_CHANGED).count()


async def test_comment_id_key_of_the_other_login(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """The Facebook-Login shape (`comment_id`, `media_id`) is understood too."""
    await InstagramMedia.create(media_id=KNOWN_MEDIA)
    value = {"comment_id": "1001", "media_id": KNOWN_MEDIA, "text": "hey"}
    await deliver(client, nested_payload(value))
    await run_change_jobs(settings, followups)
    [followup] = await Job.filter(kind=webhook.COMMENT_CHANGED)
    assert ("1001", KNOWN_MEDIA) == (followup.payload["comment_id"], followup.payload["media_id"])


async def test_own_citation_comment_is_skipped(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """Our own permashortcitation comment coming back by webhook queues nothing."""
    await InstagramMedia.create(media_id=KNOWN_MEDIA, comment_id="1001")
    await deliver(client, nested_payload(comment_value("1001")))
    await run_change_jobs(settings, followups)
    assert 0 == await Job.filter(kind__in=[webhook.COMMENT_CHANGED, webhook.POLL]).count()


async def test_comments_in_one_minute_share_one_poll(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """Several comments on unknown media within a minute cause a single poll."""
    values = [comment_value(str(n), media_id="555") for n in range(5)]
    await deliver(client, nested_payload(*values))
    await run_change_jobs(settings, followups)
    assert 1 == await Job.filter(kind=webhook.POLL).count()


async def test_change_waits_for_the_poller(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without poll/comment handlers registered the change is retried in an hour, not DEAD."""
    # A worker of an older release: it knows the webhook job but not the poller's.
    monkeypatch.setattr(tasks, "job_handlers", lambda: dict(webhook.HANDLERS))
    await InstagramMedia.create(media_id=KNOWN_MEDIA)
    await deliver(client, nested_payload(comment_value("1001"), comment_value("2", "555")))
    await run_change_jobs(settings, webhook.HANDLERS)
    for job in await change_jobs():
        assert JobState.QUEUED == job.state
        assert job.last_error is not None and "waiting for the Instagram poller" in job.last_error
        assert (job.run_at - jobs.utcnow()).total_seconds() > 3500
    assert 0 == await Job.exclude(kind=webhook.KIND).count()


async def test_mentions_change_needs_nothing(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """A `mentions` change is recorded as a DONE job and queues nothing further."""
    await deliver(client, nested_payload({"media_id": "555"}, field="mentions"))
    await run_change_jobs(settings, followups)
    assert [JobState.DONE] == [job.state for job in await change_jobs()]
    assert 1 == await Job.all().count()
