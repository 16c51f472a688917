"""A silo is a value: a test-only silo plugs into every seam without touching the core.

`TEST_SILO` is what a new silo package would export from its `silo.py`. The app, the worker,
the post-change announcements, the admin, the public pages, Micropub and the command line
are built from `[*wiring.features(), TEST_SILO]` exactly as from the real list.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import jinja2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hearth import cli, wiring
from hearth.app import create_app
from hearth.server.admin import set_password
from hearth.server.core import job_queue
from hearth.server.core.events import PostChange
from hearth.server.core.features import (
    AdminSection,
    Command,
    Feature,
    PermalinkNote,
    SyndicationTarget,
)
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import AdminSession, Post
from hearth.server.core.settings import Settings
from tests.conftest import seed_database
from tests.micropub.endpoint_helpers import bearer, post_form, run_follow_ups
from tests.server.admin.admin_helpers import PASSWORD, post_login

HEARD: list[int] = []
HANDLED: list[dict[str, Any]] = []
STARTED: list[str] = []
SECTION_TEMPLATE = '<p class="teststagram">{{ data.greeting }}</p>'


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello from the test silo")


async def handle(ctx: JobContext, payload: dict[str, Any]) -> None:
    HANDLED.append(payload)


async def started(settings: Settings) -> None:
    STARTED.append(settings.url)


async def heard(change: PostChange) -> None:
    HEARD.append(change.post.id)


async def load(request: Request, session: AdminSession) -> dict[str, str]:
    return {"greeting": "<hi>"}


async def notes(post: Post) -> Sequence[PermalinkNote]:
    return (PermalinkNote("3 stars on Teststagram", "https://silo.example/p/1"),)


async def targets(settings: Settings) -> Sequence[SyndicationTarget]:
    return (SyndicationTarget("https://silo.example/", "Teststagram"),)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shout", action="store_true")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    print(f"{await Post.all().count()} posts; test silo says {'HI' if args.shout else 'hi'}")
    return 0


TEST_SILO = Feature(
    "teststagram",
    routes=[Route("/syndication/teststagram/hello", hello)],
    job_handlers={"teststagram.push": handle},
    on_worker_start=[started],
    on_post_changed=[heard],
    admin_sections=[
        AdminSection("teststagram", "Teststagram", "admin/section_teststagram.html", load, 200)
    ],
    commands=[Command("teststagram", "talk to the test silo", configure, run)],
    permalink_notes=notes,
    syndication_targets=targets,
)
WITH_TEST_SILO = (*wiring.features(), TEST_SILO)


@pytest.fixture(autouse=True)
def clean_records() -> None:
    HEARD.clear()
    HANDLED.clear()
    STARTED.clear()


@pytest.fixture(name="silo_app")
async def silo_app_fixture(settings: Settings, migrated_sqlite: Path) -> AsyncIterator[Starlette]:
    seed_database(settings, migrated_sqlite)
    app = create_app(settings, features=WITH_TEST_SILO)
    env = app.state.templates.env
    fragments = jinja2.DictLoader({"admin/section_teststagram.html": SECTION_TEMPLATE})
    env.loader = jinja2.ChoiceLoader([fragments, env.loader])
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(name="silo_client")
async def silo_client_fixture(
    silo_app: Starlette, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=silo_app)
    async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
        yield client


async def test_its_route_answers(silo_client: httpx.AsyncClient) -> None:
    response = await silo_client.get("/syndication/teststagram/hello")
    assert (200, "hello from the test silo") == (response.status_code, response.text)


async def test_it_hears_of_post_changes(silo_client: httpx.AsyncClient, settings: Settings) -> None:
    """A Micropub create's follow-up job, run as the worker does, tells the silo."""
    created = await post_form(silo_client, "h=entry&content=Hi", await bearer("create"))
    assert 201 == created.status_code
    assert 1 == await run_follow_ups(settings)
    assert [(await Post.get()).id] == HEARD


async def test_micropub_offers_its_target(silo_client: httpx.AsyncClient) -> None:
    headers = await bearer("create")
    config = (await silo_client.get("/micropub?q=config", headers=headers)).json()
    target = {"uid": "https://silo.example/", "name": "Teststagram"}
    assert [target] == config["syndicate-to"]
    answer = await silo_client.get("/micropub?q=syndicate-to", headers=headers)
    assert {"syndicate-to": [target]} == answer.json()


async def test_the_permalink_shows_its_note(silo_client: httpx.AsyncClient) -> None:
    created = await post_form(silo_client, "h=entry&content=Hi", await bearer("create"))
    page = (await silo_client.get(created.headers["location"])).text
    assert '<a href="https://silo.example/p/1">3 stars on Teststagram</a>' in page


async def test_the_admin_shows_its_page_last(silo_client: httpx.AsyncClient) -> None:
    await set_password(PASSWORD)
    assert 303 == (await post_login(silo_client, PASSWORD)).status_code
    html = (await silo_client.get("/admin/teststagram")).text
    assert '<p class="teststagram">&lt;hi&gt;</p>' in html
    sections = [part.split('"', 1)[0] for part in html.split('class="admin-section" id="')[1:]]
    assert ["teststagram"] == sections
    nav = html.split('<nav class="admin-nav"', 1)[1].split("</nav>", 1)[0]
    titles = [part.split("<", 1)[0].split(">", 1)[-1] for part in nav.split("<a ")[1:]]
    pages = ["Posts", "Responses", "Jobs", "Apps and tokens", "Profile", "Silos", "Teststagram"]
    assert pages == titles


async def test_a_worker_runs_its_jobs_and_start_hook(
    silo_app: Starlette, settings: Settings
) -> None:
    await wiring.on_worker_start(settings, WITH_TEST_SILO)
    assert [settings.url] == STARTED
    await job_queue.enqueue("teststagram.push", {"n": 1}, key="push-1")
    worker = Worker(settings, wiring.job_handlers(WITH_TEST_SILO))
    assert await worker.run_once()
    assert [{"n": 1}] == HANDLED


def test_the_command_line_runs_its_command(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEARTH_DATA_DIR", str(settings.data_dir))
    assert 0 == cli.main(["teststagram", "--shout"], features=WITH_TEST_SILO)
    assert "0 posts; test silo says HI" in capsys.readouterr().out
    assert "teststagram" in cli.build_parser(WITH_TEST_SILO).format_help()


def test_two_features_cannot_claim_one_job_kind() -> None:
    twin = Feature("twin", job_handlers={"teststagram.push": handle})
    with pytest.raises(ValueError, match="teststagram.push"):
        wiring.job_handlers((TEST_SILO, twin))
