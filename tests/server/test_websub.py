"""Tests for hearth.server.websub: scheduling publish pings as jobs and sending them to a hub.

The hub is a respx route (https://lundberg.github.io/respx/): the `respx_mock` fixture answers
in place of the network, below Hearth's guarded client, and a request to any other URL raises.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from starlette.applications import Starlette

from hearth.server import websub
from hearth.server.core import job_queue
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import ALL_NETWORKS, Settings

HUB = "https://hub.example.test/publish"
TOPICS = [
    "https://example.test/",
    "https://example.test/feed.atom",
    "https://example.test/feed.rss",
    "https://example.test/feed.json",
]


def forms(hub: respx.Route) -> list[dict[str, list[str]]]:
    """The form of each ping the hub received, in order."""
    return [parse_qs(c.request.content.decode(), keep_blank_values=True) for c in hub.calls]


@pytest.fixture(name="hub_settings")
def hub_settings_fixture(settings: Settings) -> Settings:
    return replace(settings, websub_hub=HUB, allowed_private_networks=ALL_NETWORKS)


@pytest.fixture(name="hub")
def hub_fixture(respx_mock: respx.MockRouter) -> respx.Route:
    """The hub: answers 204 unless a test says otherwise; its `calls` are the pings."""
    return respx_mock.post(HUB).respond(204)


@pytest.fixture(name="http")
async def http_fixture(
    hub_settings: Settings, hub: respx.Route
) -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(hub_settings) as client:
        yield client


async def context(settings: Settings, http: httpx.AsyncClient | None) -> JobContext:
    job = await job_queue.enqueue(websub.KIND, {}, key="test-context")
    return JobContext(settings=settings, http=http, job=job)


async def run_publish(settings: Settings, http: httpx.AsyncClient, topic: str = TOPICS[1]) -> None:
    await websub.publish(await context(settings, http), {"hub": HUB, "topic": topic})


async def test_publish_posts_form_to_hub(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """The handler POSTs hub.mode=publish and hub.url=<topic> as a form to the hub."""
    await run_publish(hub_settings, http, "https://example.test/feed.atom")
    (call,) = hub.calls
    request = call.request
    assert request.method == "POST"
    assert str(request.url) == HUB
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert forms(hub) == [{"hub.mode": ["publish"], "hub.url": ["https://example.test/feed.atom"]}]


@pytest.mark.parametrize("status", [200, 202, 204])
async def test_publish_succeeds_on_2xx(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route, status: int
) -> None:
    """Any 2xx answer from the hub is success: the handler returns normally."""
    hub.respond(status, text="thanks")
    await run_publish(hub_settings, http)
    assert hub.call_count == 1


async def test_publish_retries_on_503(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A 503 asks for a retry, after the hub's Retry-After seconds."""
    hub.respond(503, headers={"Retry-After": "120"})
    with pytest.raises(job_queue.Retry) as caught:
        await run_publish(hub_settings, http)
    assert caught.value.retry_after == 120.0
    assert "503" in str(caught.value)


async def test_publish_retries_on_503_without_retry_after(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A 503 without Retry-After retries with the queue's own backoff (retry_after None)."""
    hub.respond(503, text="down for maintenance")
    with pytest.raises(job_queue.Retry) as caught:
        await run_publish(hub_settings, http)
    assert caught.value.retry_after is None
    assert "down for maintenance" in str(caught.value)


async def test_publish_retries_on_429(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """429 Too Many Requests is temporary: retry."""
    hub.respond(429)
    with pytest.raises(job_queue.Retry):
        await run_publish(hub_settings, http)


async def test_publish_retries_on_network_error(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A hub that cannot be reached is retried later."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    hub.mock(side_effect=refuse)
    with pytest.raises(job_queue.Retry):
        await run_publish(hub_settings, http)


async def test_publish_is_permanent_failure_on_400(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A 400 will not change on retry: permanent failure, naming the status and the reason."""
    hub.respond(400, text="unknown topic")
    with pytest.raises(job_queue.PermanentFailure) as caught:
        await run_publish(hub_settings, http)
    assert "400" in str(caught.value)
    assert "unknown topic" in str(caught.value)


async def test_publish_does_not_follow_redirects(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A redirect is not followed (it would turn the POST into a GET) and fails permanently."""
    hub.respond(302, headers={"Location": "https://x.test/"})
    with pytest.raises(job_queue.PermanentFailure):
        await run_publish(hub_settings, http)
    assert hub.call_count == 1


async def test_publish_to_private_hub_is_permanent_failure(
    app: Starlette, settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A hub on a private address (not allowed in settings) is refused without retrying."""
    private = replace(settings, websub_hub="http://127.0.0.1:9/")
    async with create_http_client(private) as client:
        ctx = await context(private, client)
        with pytest.raises(job_queue.PermanentFailure):
            await websub.publish(ctx, {"hub": "http://127.0.0.1:9/", "topic": TOPICS[0]})
    assert list(respx_mock.calls) == []


async def test_publish_without_topic_is_permanent_failure(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """A payload without a topic cannot ever succeed."""
    with pytest.raises(job_queue.PermanentFailure):
        await websub.publish(await context(hub_settings, http), {"hub": HUB})
    assert list(respx_mock.calls) == []


async def test_publish_without_shared_client_uses_its_own(
    app: Starlette, hub_settings: Settings, hub: respx.Route, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the worker has no shared HTTP client the handler makes a guarded one."""
    made: list[Settings] = []

    def fake_client(settings: Settings, **kwargs: Any) -> httpx.AsyncClient:
        made.append(settings)
        return create_http_client(settings)

    monkeypatch.setattr(websub, "create_http_client", fake_client)
    await websub.publish(await context(hub_settings, None), {"hub": HUB, "topic": TOPICS[0]})
    assert made == [hub_settings]
    assert hub.call_count == 1


async def test_schedule_ping_queues_one_job_per_topic(
    app: Starlette, hub_settings: Settings
) -> None:
    """One websub.publish job per topic: the home page and each feed."""
    await websub.schedule_ping(hub_settings, reason_key="post:1:100")
    queued = await Job.filter(kind="websub.publish").order_by("id")
    assert [job.payload for job in queued] == [{"hub": HUB, "topic": t} for t in TOPICS]
    assert [job.idempotency_key for job in queued] == [f"websub:{t}:post:1:100" for t in TOPICS]
    assert {job.state for job in queued} == {JobState.QUEUED}


async def test_schedule_ping_is_idempotent(app: Starlette, hub_settings: Settings) -> None:
    """Scheduling the same reason twice still leaves exactly one job per topic."""
    await websub.schedule_ping(hub_settings, reason_key="post:1:100")
    await websub.schedule_ping(hub_settings, reason_key="post:1:100")
    assert await Job.filter(kind="websub.publish").count() == len(TOPICS)


async def test_schedule_ping_new_reason_queues_again(
    app: Starlette, hub_settings: Settings
) -> None:
    """A new change (a new reason key) after the last pings were sent is pinged again."""
    await websub.schedule_ping(hub_settings, reason_key="post:1:100")
    await Job.filter(kind="websub.publish").update(state=JobState.DONE)
    await websub.schedule_ping(hub_settings, reason_key="post:1:200")
    assert await Job.filter(kind="websub.publish").count() == 2 * len(TOPICS)


async def test_queued_ping_covers_later_changes(app: Starlette, hub_settings: Settings) -> None:
    """Changes while a topic's ping waits in the queue add no ping: it tells the hub of all."""
    for modified in range(100, 150):
        await websub.schedule_ping(hub_settings, reason_key=f"post:{modified}:{modified}")
    assert await Job.filter(kind="websub.publish").count() == len(TOPICS)


async def test_running_ping_does_not_cover_a_later_change(
    app: Starlette, hub_settings: Settings
) -> None:
    """A ping already running may have been sent before the change: the change gets its own."""
    await websub.schedule_ping(hub_settings, reason_key="post:1:100")
    await Job.filter(kind="websub.publish").update(state=JobState.RUNNING)
    await websub.schedule_ping(hub_settings, reason_key="post:1:200")
    queued = await Job.filter(kind="websub.publish", state=JobState.QUEUED).count()
    assert len(TOPICS) == queued


async def test_schedule_ping_without_hub_does_nothing(app: Starlette, settings: Settings) -> None:
    """With no hub configured nothing is queued."""
    await websub.schedule_ping(settings, reason_key="post:1:100")
    assert await Job.filter(kind="websub.publish").count() == 0


def test_long_ping_keys_fit_the_column() -> None:
    """Keys longer than the 255-character column are hashed, still distinct per topic."""
    topic = "https://example.test/" + "x" * 300
    key = websub.ping_key(topic, "post:1:100")
    assert len(key) <= 255
    assert key != websub.ping_key(topic + "y", "post:1:100")
    assert websub.ping_key(TOPICS[0], "r") == f"websub:{TOPICS[0]}:r"


async def run_queued_pings(hub_settings: Settings, http: httpx.AsyncClient) -> list[Job]:
    await websub.schedule_ping(hub_settings, reason_key="post:7:1")
    runner = Worker(hub_settings, websub.HANDLERS, http=http, poll_interval=0.01)
    while await runner.run_once():
        pass
    return await Job.filter(kind="websub.publish").order_by("id")


async def test_worker_delivers_scheduled_pings(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """Through the real queue and worker every topic is pinged once and the jobs are DONE."""
    done = await run_queued_pings(hub_settings, http)
    assert [form["hub.url"] for form in forms(hub)] == [[t] for t in TOPICS]
    assert {job.state for job in done} == {JobState.DONE}


async def test_worker_requeues_pings_on_503(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A 503 leaves each ping queued for a later attempt, with the error recorded."""
    hub.respond(503, headers={"Retry-After": "60"})
    queued = await run_queued_pings(hub_settings, http)
    assert {(job.state, job.attempts) for job in queued} == {(JobState.QUEUED, 1)}
    assert all("503" in (job.last_error or "") for job in queued)


async def test_worker_gives_up_pings_on_400(
    app: Starlette, hub_settings: Settings, http: httpx.AsyncClient, hub: respx.Route
) -> None:
    """A 400 makes each ping DEAD after one attempt."""
    hub.respond(400)
    dead = await run_queued_pings(hub_settings, http)
    assert {(job.state, job.attempts) for job in dead} == {(JobState.DEAD, 1)}
