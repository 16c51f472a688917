"""Helpers of the page cache tests: a count of SQL statements, warming a page (the anonymous
reader is the root conftest's `anonymous`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tortoise import connections

from tests.conftest import BASE_URL

_QUERIES = ("execute_query", "execute_query_dict", "execute_insert", "execute_many")


@pytest.fixture(name="queries")
def queries_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement run from now on (its method's name)."""
    seen: list[str] = []
    client_class = type(connections.get("default"))
    for name in _QUERIES:
        original = getattr(client_class, name)

        def counted(self: Any, *args: Any, _name: str = name, _orig: Any = original) -> Any:
            seen.append(_name)
            return _orig(self, *args)

        monkeypatch.setattr(client_class, name, counted)
    yield seen


def path_of(url: str) -> str:
    return "/" + url.removeprefix(BASE_URL)


async def warm(reader: httpx.AsyncClient, *paths: str) -> None:
    """Fetch each page twice: the second answer comes from the cache."""
    for path in paths:
        for _ in range(2):
            assert (await reader.get(path)).status_code in (200, 301, 404, 410), path
