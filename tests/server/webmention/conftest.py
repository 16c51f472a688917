"""Fixtures of the webmention tests: the made-up remote web, and a worker that reaches it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.settings import Settings
from hearth.server.webmention.webmention_settings import with_webmention
from hearth.wiring import job_handlers
from tests.server.webmention.receive_support import FakeWeb, fake_resolve


@pytest.fixture(name="web")
def web_fixture() -> FakeWeb:
    return FakeWeb()


@pytest.fixture(name="worker")
async def worker_fixture(app: Starlette, settings: Settings, web: FakeWeb) -> AsyncIterator[Worker]:
    """A worker on the app's database; moderation `all` unless a test changes it, and no
    spacing of fetches to one host (test_politeness.py tests that)."""
    worker_settings = with_webmention(replace(settings, moderation="all"), fetch_interval=0)
    transport = httpx.MockTransport(web)
    async with create_http_client(
        worker_settings, transport=transport, resolver=fake_resolve
    ) as http:
        yield Worker(worker_settings, job_handlers(), http=http, worker_id="test-worker")
