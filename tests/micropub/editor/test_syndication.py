"""Syndication targets offered by the silos: checkboxes under "Syndicate to" on a new post."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from hearth import wiring
from hearth.app import create_app
from hearth.server.core.features import Feature, SyndicationTarget
from hearth.server.core.settings import Settings
from tests.conftest import seed_database
from tests.micropub.editor.conftest import NEW, Web, only_post, submit


async def targets(settings: Settings) -> Sequence[SyndicationTarget]:
    return [
        SyndicationTarget("https://silo.example/me", "Silo (@me)"),
        SyndicationTarget("https://other.example/me", "Other silo"),
    ]


SILO = Feature("test-silo", syndication_targets=targets)


@pytest.fixture(name="app")
async def app_fixture(
    settings: Settings, migrated_sqlite: Path, web: Web
) -> AsyncIterator[Starlette]:
    """The app with one more feature: a silo that offers two targets."""
    seed_database(settings, migrated_sqlite)
    app = create_app(
        settings, http_transport=httpx.MockTransport(web), features=(*wiring.features(), SILO)
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_chosen_targets_are_sent_with_the_create(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    page = await client.get(NEW)
    assert "<legend>Syndicate to</legend>" in page.text
    assert 'value="https://silo.example/me"> Silo (@me)</label>' in page.text
    fields = {"content": "Also there", "mp-syndicate-to": "https://silo.example/me"}
    await submit(client, NEW, signed_in, {**fields, "action": "publish"})
    post = await only_post()
    assert post.syndicate_to == ["https://silo.example/me"]
    assert "mp-syndicate-to" not in post.properties  # a command, never stored
