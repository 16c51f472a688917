"""The page cache's parts (hearth.server.core.page_cache, page_generations, page_changes) on a
small app of their own: what is stored, what is served, when an entry stops being current,
the bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hearth.server.core import page_changes, page_generations
from hearth.server.core.caching import conditional
from hearth.server.core.page_cache import PageCache
from hearth.server.core.page_generations import LISTINGS, SITE, Generations, post_scope
from hearth.server.core.settings import Settings

Hook = Callable[[Request, Response], None]


class Site:
    """A one-route app behind the page cache: each GET renders "page N" (N counts renders),
    offered to the cache unless `hook` changes the response first."""

    def __init__(self, settings: Settings, **options: float) -> None:
        self.renders = 0
        self.hook: Hook = lambda request, response: None
        self.during: Callable[[], None] = lambda: None
        self.offered = True
        self.text: str | None = None
        inner = Starlette(routes=[Route("/{name}", self.page, methods=["GET", "POST"])])
        self.cache = PageCache(inner, settings, **options)

    async def page(self, request: Request) -> Response:
        self.renders += 1
        self.during()
        response = PlainTextResponse(self.text or f"page {self.renders}")
        self.hook(request, response)
        return conditional(request, response, shared_as=post_scope(1) if self.offered else None)


@pytest.fixture(name="site")
def site_fixture(settings: Settings, db: None) -> Site:
    return Site(settings)


@pytest.fixture(name="reader")
async def reader_fixture(site: Site) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=site.cache)
    async with httpx.AsyncClient(transport=transport, base_url="https://example.test") as client:
        yield client


async def texts(reader: httpx.AsyncClient, *paths: str, **headers: str) -> list[str]:
    return [(await reader.get(path, headers=headers)).text for path in paths]


# Generations ---------------------------------------------------------------------------


def test_a_bump_in_one_mapping_is_seen_by_another_at_once(tmp_path: Path) -> None:
    """Two processes map the same file: one's bump is in the other's next read."""
    first = Generations(tmp_path / "pages.generations")
    second = Generations(tmp_path / "pages.generations")
    before = second.snapshot()
    first.bump([post_scope(7)])
    after = second.snapshot()
    changed = [i for i in range(0, len(after), 8) if after[i : i + 8] != before[i : i + 8]]
    assert [post_scope(7) * 8] == changed


def test_changes_in_a_unit_are_bumped_when_it_ends(tmp_path: Path) -> None:
    """Recorded inside the unit (inside a transaction, say), bumped only after it."""
    counters = page_generations.open_generations(tmp_path)
    before = counters.snapshot()
    with page_changes.unit(counters):
        page_changes.changed(3)
        assert before == counters.snapshot()
    assert before != counters.snapshot()


async def test_a_long_unit_bumps_early_and_again_at_its_end(tmp_path: Path) -> None:
    """A job copying many posts shows each soon after its commit, not at the job's end; the
    bump at the end still covers a commit that came after the early one."""
    counters = page_generations.open_generations(tmp_path)
    before = counters.snapshot()
    with page_changes.unit(counters):
        page_changes.changed(3)
        await asyncio.sleep(page_changes.EARLY_BUMP * 2)
        early = counters.snapshot()
        assert before != early
    assert early != counters.snapshot()


def test_a_post_change_bumps_listings_and_its_slot_only(tmp_path: Path) -> None:
    counters = page_generations.open_generations(tmp_path)
    before = counters.snapshot()
    with page_changes.unit(counters):
        page_changes.changed(3)
    after = counters.snapshot()
    moved = {i // 8 for i in range(0, len(after), 8) if after[i : i + 8] != before[i : i + 8]}
    assert {LISTINGS, post_scope(3)} == moved
    assert SITE not in moved and post_scope(4) not in moved


# Stored and served ---------------------------------------------------------------------


async def test_a_second_get_is_served_without_rendering(
    site: Site, reader: httpx.AsyncClient
) -> None:
    assert ["page 1", "page 1"] == await texts(reader, "/a", "/a")
    assert 1 == site.renders


async def test_a_bump_of_its_scope_renders_it_again(site: Site, reader: httpx.AsyncClient) -> None:
    await texts(reader, "/a")
    site.cache.generations.bump([post_scope(2)])  # another post: still current
    assert ["page 1"] == await texts(reader, "/a")
    site.cache.generations.bump([post_scope(1)])
    assert ["page 2"] == await texts(reader, "/a")


async def test_a_change_committed_during_the_render_is_not_missed(
    site: Site, reader: httpx.AsyncClient
) -> None:
    """The page remembers the generations read before it rendered: a bump while it rendered
    (a commit it may or may not have seen) leaves it stale at once."""
    site.during = lambda: site.cache.generations.bump([post_scope(1)])
    await texts(reader, "/a")
    site.during = lambda: None
    assert ["page 2"] == await texts(reader, "/a")


@pytest.mark.parametrize("header", [("cookie", "hearth_session=x"), ("authorization", "Bearer x")])
async def test_a_request_with_credentials_is_neither_served_nor_stored(
    site: Site, reader: httpx.AsyncClient, header: tuple[str, str]
) -> None:
    await texts(reader, "/a")
    assert ["page 2", "page 3"] == await texts(reader, "/a", "/a", **dict([header]))
    assert ["page 1"] == await texts(reader, "/a")


@pytest.mark.parametrize(
    "header", [("set-cookie", "a=b"), ("cache-control", "private, no-cache"), ("x", "y")]
)
async def test_a_private_answer_is_never_stored(
    site: Site, reader: httpx.AsyncClient, header: tuple[str, str]
) -> None:
    site.hook = lambda request, response: response.headers.append(*header)
    stored = header == ("x", "y")
    assert ["page 1", "page 1" if stored else "page 2"] == await texts(reader, "/a", "/a")


async def test_only_offered_pages_are_stored(site: Site, reader: httpx.AsyncClient) -> None:
    site.offered = False
    assert ["page 1", "page 2"] == await texts(reader, "/a", "/a")


async def test_a_304_from_the_page_still_stores_the_full_page(
    site: Site, reader: httpx.AsyncClient
) -> None:
    """The first request may be conditional: the page answers 304 and the cache keeps what
    the page would have sent in full."""
    site.text = "the same"
    etag = (await reader.get("/a")).headers["etag"]
    site.cache.entries.clear()
    assert 304 == (await reader.get("/a", headers={"If-None-Match": etag})).status_code
    assert ["the same"] == await texts(reader, "/a")
    assert 2 == site.renders


async def test_the_cache_is_bounded_by_entries(settings: Settings, db: None) -> None:
    site = Site(settings, max_entries=2)
    transport = httpx.ASGITransport(app=site.cache)
    async with httpx.AsyncClient(transport=transport, base_url="https://t.example") as reader:
        await texts(reader, "/a", "/b", "/a", "/c")  # /b is the least recently used
        assert [("/a", b""), ("/c", b"")] == list(site.cache.entries)


async def test_the_cache_is_bounded_by_bytes(settings: Settings, db: None) -> None:
    site = Site(settings, max_bytes=16 * 600)
    site.hook = lambda request, response: response.headers.append("x-pad", "p" * 300)
    transport = httpx.ASGITransport(app=site.cache)
    async with httpx.AsyncClient(transport=transport, base_url="https://t.example") as reader:
        await texts(reader, *(f"/{n}" for n in range(40)))
    assert site.cache.bytes <= 16 * 600
    assert 10 < len(site.cache.entries) < 40


async def test_an_entry_expires_after_its_ttl(settings: Settings, db: None) -> None:
    site = Site(settings, ttl=0)
    transport = httpx.ASGITransport(app=site.cache)
    async with httpx.AsyncClient(transport=transport, base_url="https://t.example") as reader:
        assert ["page 1", "page 2"] == await texts(reader, "/a", "/a")


async def test_a_change_made_by_a_request_is_bumped_before_it_answers(
    site: Site, reader: httpx.AsyncClient
) -> None:
    """A change a POST records is bumped before its answer leaves (after its commits), so
    the client's next GET is fresh; a POST that records nothing leaves the pages be."""
    assert ["page 1"] == await texts(reader, "/a")
    site.hook = lambda request, response: page_changes.changed(1)
    assert 200 == (await reader.post("/a")).status_code  # page 2
    site.hook = lambda request, response: None
    assert ["page 3", "page 3"] == await texts(reader, "/a", "/a")
    assert 200 == (await reader.post("/b")).status_code  # page 4, records nothing
    assert ["page 3"] == await texts(reader, "/a")
