"""Progress of long command-line work: a bar on a terminal, plain lines otherwise.

    with progress(len(items), "queued", unit="comments") as steps:
        for item in items:
            ...
            steps.advance()

On a terminal (the console's stream is a TTY, or a `rich` console forced to be one) it draws
a `rich.progress` bar with the count and the time left. Otherwise (a pipe, a log file, cron,
the tests) it writes plain lines such as "queued 120/3400 comments", at most one every
`interval` seconds and always one at the end, so a log shows how far the work got. It writes
to stderr unless told otherwise: stdout keeps the command's result.

Work that reports progress takes a `ProgressFactory` (a callable of the total), `quiet` by
default, so the same code runs silently under the worker and with a bar under a command.
`advance` may be called from another thread (work done in `asyncio.to_thread`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol, TextIO

from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

INTERVAL = 2.0


class Steps(Protocol):
    """What work tells its progress: `advance(n)` after `n` more steps (or bytes)."""

    def advance(self, steps: int = 1) -> None: ...


ProgressFactory = Callable[[int], AbstractContextManager[Steps]]


class _Quiet:
    def advance(self, steps: int = 1) -> None:
        pass


@contextmanager
def quiet(total: int) -> Iterator[Steps]:
    """Progress nobody sees: the default of work that can report it."""
    yield _Quiet()


def _amount(value: int, sizes: bool) -> str:
    return decimal(value) if sizes else str(value)


class _Lines:
    """Plain progress lines, "{description} {done}/{total} {unit}", throttled."""

    def __init__(
        self, stream: IO[str], total: int, label: tuple[str, str, bool], interval: float
    ) -> None:
        self.stream, self.total, self.interval = stream, total, interval
        self.description, self.unit, self.sizes = label
        self.done = 0
        self.written: int | None = None
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def line(self) -> str:
        done, total = _amount(self.done, self.sizes), _amount(self.total, self.sizes)
        return " ".join(part for part in (self.description, f"{done}/{total}", self.unit) if part)

    def write(self) -> None:
        self.stream.write(self.line() + "\n")
        self.stream.flush()
        self.written, self.last = self.done, time.monotonic()

    def advance(self, steps: int = 1) -> None:
        with self.lock:
            self.done += steps
            if time.monotonic() - self.last >= self.interval:
                self.write()

    def finish(self) -> None:
        with self.lock:
            if self.written != self.done:
                self.write()


class _Bar:
    def __init__(self, bar: Progress, total: int) -> None:
        self.bar = bar
        self.task = bar.add_task("", total=total)

    def advance(self, steps: int = 1) -> None:
        self.bar.advance(self.task, steps)


def _columns(description: str, unit: str, sizes: bool) -> list[ProgressColumn]:
    count: ProgressColumn = DownloadColumn() if sizes else MofNCompleteColumn()
    columns: list[ProgressColumn] = [TextColumn(description), BarColumn(), count]
    if unit:
        columns.append(TextColumn(unit))
    return [*columns, TimeRemainingColumn()]


@contextmanager
def progress(
    total: int,
    description: str,
    *,
    unit: str = "",
    sizes: bool = False,
    stream: TextIO | None = None,
    console: Console | None = None,
    interval: float = INTERVAL,
) -> Iterator[Steps]:
    """Show the progress of `total` steps of `unit`, e.g. "queued 120/3400 comments"; with
    `sizes`, steps are bytes shown as sizes ("kept 1.2 GB/3.4 GB of the zip files").

    `console` (a `rich` console) or else `stream` (stderr by default) says where; a bar when
    it is a terminal, plain lines otherwise (see the module doc).
    """
    console = console or Console(file=stream or sys.stderr)
    if not console.is_terminal:
        lines = _Lines(console.file, total, (description, unit, sizes), interval)
        try:
            yield lines
        finally:  # also when the work fails: the log shows how far it got
            lines.finish()
        return
    with Progress(*_columns(description, unit, sizes), console=console) as bar:
        yield _Bar(bar, total)
