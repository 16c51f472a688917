"""The core's sliding window: N events a minute per key, counted only when allowed."""

from __future__ import annotations

from types import SimpleNamespace

from hearth.server.core.rate_limits import SlidingWindow, app_window


def test_take_counts_up_to_the_limit_then_says_how_long_to_wait() -> None:
    window = SlidingWindow(2)
    assert [window.take("a", now=0.0), window.take("a", now=1.0)] == [0, 0]
    assert window.take("a", now=2.0) == 58
    assert window.take("b", now=2.0) == 0  # keys are counted apart
    assert window.take("a", now=60.5) == 0  # the first event left the window


def test_a_refused_event_is_not_counted() -> None:
    window = SlidingWindow(1)
    window.take("a", now=0.0)
    for second in range(1, 50):
        window.take("a", now=float(second))
    assert window.take("a", now=60.0) == 0


def test_app_window_is_made_once_per_app() -> None:
    state = SimpleNamespace()
    first = app_window(state, "limiter", 5)
    assert app_window(state, "limiter", 5) is first
    assert app_window(SimpleNamespace(), "limiter", 5) is not first
