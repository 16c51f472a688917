"""The `instagram.webhook_change` job: which follow-up each queued webhook change leads to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hearth.server.core.job_worker import Handler, JobContext, Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import changes
from hearth.syndication.instagram.tables import InstagramMedia
from tests.syndication.instagram.webhook_deliveries import (
    KNOWN_MEDIA,
    change_jobs,
    comment_value,
    deliver,
    nested_payload,
    with_webhook_secrets,
)


@pytest.fixture(name="settings")
def instagram_settings_fixture(settings: Settings) -> Settings:
    return with_webhook_secrets(settings)


@pytest.fixture(name="followups")
def followups_fixture() -> dict[str, Handler]:
    """The real change handler; the follow-up jobs it queues succeed without calling Instagram.

    Their own behaviour is tested with the poller and backfeed; here what counts is which
    follow-up is queued, with which payload.
    """

    async def recorded(ctx: JobContext, payload: dict[str, Any]) -> None:
        """Stands in for the follow-up handlers (see the fixture's docstring)."""

    return {**changes.HANDLERS, changes.POLL: recorded, changes.COMMENT_CHANGED: recorded}


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
    [followup] = await Job.filter(kind=changes.COMMENT_CHANGED)
    assert {
        "media_id": KNOWN_MEDIA,
        "comment_id": "1001",
        "text": "Lovely light",
        "from": {"id": "232323232", "username": "someone"},
        "parent_id": "999",
    } == followup.payload
    assert 0 == await Job.filter(kind=changes.POLL).count()
    assert [JobState.DONE] == [job.state for job in await change_jobs()]


async def test_unknown_media_comment_triggers_a_poll(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """A comment on a media Hearth does not know yet queues one `instagram.poll`."""
    await deliver(client, nested_payload(comment_value("1001", media_id="555")))
    await run_change_jobs(settings, followups)
    [poll] = await Job.filter(kind=changes.POLL)
    assert "555" == poll.payload["media_id"]
    assert 0 == await Job.filter(kind=changes.COMMENT_CHANGED).count()


async def test_comment_id_key_of_the_other_login(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """The Facebook-Login shape (`comment_id`, `media_id`) is understood too."""
    await InstagramMedia.create(media_id=KNOWN_MEDIA)
    value = {"comment_id": "1001", "media_id": KNOWN_MEDIA, "text": "hey"}
    await deliver(client, nested_payload(value))
    await run_change_jobs(settings, followups)
    [followup] = await Job.filter(kind=changes.COMMENT_CHANGED)
    assert ("1001", KNOWN_MEDIA) == (followup.payload["comment_id"], followup.payload["media_id"])


async def test_own_citation_comment_is_skipped(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """Our own permashortcitation comment coming back by webhook queues nothing."""
    await InstagramMedia.create(media_id=KNOWN_MEDIA, comment_id="1001")
    await deliver(client, nested_payload(comment_value("1001")))
    await run_change_jobs(settings, followups)
    assert 0 == await Job.filter(kind__in=[changes.COMMENT_CHANGED, changes.POLL]).count()


async def test_comments_in_one_minute_share_one_poll(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """Several comments on unknown media within a minute cause a single poll."""
    values = [comment_value(str(n), media_id="555") for n in range(5)]
    await deliver(client, nested_payload(*values))
    await run_change_jobs(settings, followups)
    assert 1 == await Job.filter(kind=changes.POLL).count()


async def test_mentions_change_needs_nothing(
    client: httpx.AsyncClient, settings: Settings, followups: dict[str, Handler]
) -> None:
    """A `mentions` change is recorded as a DONE job and queues nothing further."""
    await deliver(client, nested_payload({"media_id": "555"}, field="mentions"))
    await run_change_jobs(settings, followups)
    assert [JobState.DONE] == [job.state for job in await change_jobs()]
    assert 1 == await Job.all().count()
