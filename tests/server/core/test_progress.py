"""Progress of long command-line work (hearth.server.core.progress).

Not a terminal (a StringIO, as a pipe or log file): plain lines, throttled, always one at the
end, also when the work fails. A terminal (a rich Console forced to be one, or a stream that
says it is a TTY): a rich bar, drawn with its count.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from hearth.server.core.progress import progress, quiet


class FakeTTY(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_plain_lines_off_a_terminal() -> None:
    """Each step a line when the interval allows, "{description} {done}/{total} {unit}"."""
    stream = io.StringIO()
    with progress(3, "queued", unit="first comments", stream=stream, interval=0) as steps:
        for _ in range(3):
            steps.advance()
    assert [f"queued {n}/3 first comments" for n in (1, 2, 3)] == stream.getvalue().splitlines()


def test_plain_lines_are_throttled_but_the_last_is_written() -> None:
    """Thousands of quick steps: no line per step, and the final count at the end."""
    stream = io.StringIO()
    with progress(3400, "imported", unit="posts", stream=stream, interval=3600) as steps:
        for _ in range(3400):
            steps.advance()
    assert ["imported 3400/3400 posts"] == stream.getvalue().splitlines()


def test_sizes_are_shown_as_sizes() -> None:
    """Steps of bytes read as sizes, in chunks advanced from another thread."""
    stream = io.StringIO()

    async def copy() -> None:
        with progress(3000, "kept", unit="of the zip files", sizes=True, stream=stream) as bar:
            for _ in range(2):
                await asyncio.to_thread(bar.advance, 1500)

    asyncio.run(copy())
    assert ["kept 3.0 kB/3.0 kB of the zip files"] == stream.getvalue().splitlines()


def test_failed_work_still_says_how_far_it_got() -> None:
    stream = io.StringIO()
    with (
        pytest.raises(RuntimeError),
        progress(10, "queued", unit="comments", stream=stream, interval=3600) as steps,
    ):
        steps.advance(4)
        raise RuntimeError("boom")
    assert "queued 4/10 comments\n" == stream.getvalue()


def test_nothing_to_do_says_so() -> None:
    stream = io.StringIO()
    with progress(0, "queued", unit="comments", stream=stream):
        pass
    assert "queued 0/0 comments\n" == stream.getvalue()


def test_a_forced_terminal_draws_a_bar() -> None:
    """A rich Console forced to be a terminal gets the bar, not plain lines."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with progress(3, "queued", unit="first comments", console=console) as steps:
        for _ in range(3):
            steps.advance()
    drawn = out.getvalue()
    assert "━" in drawn  # the bar
    assert "3/3" in drawn and "first comments" in drawn
    assert "\x1b[" in drawn  # terminal control sequences (colour, cursor)
    assert "queued 3/3 first comments\n" not in drawn


def test_a_tty_stream_draws_a_bar() -> None:
    """The stream's own isatty() decides, with no console given."""
    stream = FakeTTY()
    with progress(2000, "kept", unit="of the zip files", sizes=True, stream=stream) as steps:
        steps.advance(2000)
    assert "━" in stream.getvalue() and "2.0/2.0 kB" in stream.getvalue()


def test_quiet_shows_nothing() -> None:
    """The default of work that can report progress: advancing does nothing."""
    with quiet(5) as steps:
        steps.advance(5)
