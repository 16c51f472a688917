"""When `hearth serve` counts as busy (hearth.server.core.pressure): a flood of requests,
not a visitor or two; and not once the flood has passed."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from hearth.server.core import pressure as pressure_module
from hearth.server.core.pressure import BUSY_REQUESTS, BUSY_WINDOW, Pressure


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def clock_fixture(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(pressure_module, "monotonic", clock)
    return clock


def test_a_few_requests_are_not_a_flood(clock: Clock) -> None:
    pressure = Pressure()
    for _ in range(BUSY_REQUESTS - 1):
        pressure.arrived()
    assert not pressure.busy()


def test_a_flood_makes_it_busy_also_across_a_window_edge(clock: Clock) -> None:
    pressure = Pressure()
    clock.now = 1000.0 + BUSY_WINDOW * 0.9  # near the end of a window
    for _ in range(BUSY_REQUESTS // 2):
        pressure.arrived()
    clock.now += BUSY_WINDOW * 0.2  # the next window
    for _ in range(BUSY_REQUESTS - BUSY_REQUESTS // 2):
        pressure.arrived()
    assert pressure.busy()


def test_busy_ends_once_the_flood_has_passed(clock: Clock) -> None:
    pressure = Pressure()
    for _ in range(BUSY_REQUESTS * 10):
        pressure.arrived()
    assert pressure.busy()
    clock.now += BUSY_WINDOW * 2.5
    assert not pressure.busy()
    pressure.arrived()  # a single visitor afterwards
    assert not pressure.busy()


async def test_the_apps_requests_are_counted(
    app: Starlette, client: httpx.AsyncClient, clock: Clock
) -> None:
    pressure: Pressure = app.state.pressure
    assert not pressure.busy()
    for _ in range(BUSY_REQUESTS):
        await client.get("/")
    assert pressure.busy()
