"""Generation counters of the public pages, shared by every process through a small file.

Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4 (what makes a stored response usable).

The page cache (`hearth.server.core.page_cache`) keeps rendered pages in the memory of the
`hearth serve` process, but content changes in other processes too (`hearth worker`, commands).
So every process that changes something public bumps a counter in `pages.generations`, a file
in the data dir that each process maps into memory (mmap): reading a counter costs a slice of
shared memory, no system call and no query; a bump takes a lock on the file (`flock`), which is
rare. Processes sharing a site must share its data dir (as they already do for the media), on
one machine: mmap is coherent between processes of one kernel, not across a network file system.

The file holds `SLOTS` little-endian 64-bit counters, each a *scope* a page depends on:
`SITE` (the h-card; bumped at every start too, for a new release's templates and for a process
killed between a commit and its bump), `LISTINGS` (home, tag pages, the tags page, feeds) and
one slot per post (`post_scope`, the post id modulo the slots: a shared slot only costs a miss).
A post's change bumps `LISTINGS` and its slot, so a reply shown on one post keeps every other
permalink. Counters only grow; a page remembers the values read *before* it was rendered.
One slot is no page's: `TOKENS` counts revocations, for the live tokens `core.tokens` keeps
in memory (a token revoked by `hearth token revoke` must stop working in `hearth serve` too).

Changes are recorded and bumped by `hearth.server.core.page_changes`, after their commit.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "AT_START",
    "LISTINGS",
    "SITE",
    "TOKENS",
    "Generations",
    "install",
    "installed",
    "open_generations",
    "post_scope",
]

FILE_NAME = "pages.generations"
SITE = 0
LISTINGS = 1
TOKENS = 2
# What every process bumps as it starts: it may have been killed between a commit and its bump.
AT_START = (SITE, TOKENS)
SLOTS = 4096
_FIRST_POST = 3
_WIDTH = 8
_SIZE = SLOTS * _WIDTH


def post_scope(post_id: int) -> int:
    """The scope of one post's pages (its permalink, tombstone and short link)."""
    return _FIRST_POST + post_id % (SLOTS - _FIRST_POST)


class Generations:
    """The counters file of one data dir, mapped into this process (the mapping holds its
    own descriptor; the file is opened again only to lock it for a bump)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._locked() as fd:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
        # Mapped from a descriptor of its own: the map keeps a copy of it, which must not
        # share the open file (and so the lock) of the one `_locked` locks.
        fd = os.open(self.path, os.O_RDWR)
        try:
            self.map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)

    @contextmanager
    def _locked(self) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def snapshot(self) -> bytes:
        """Every counter now: what a page about to be rendered remembers."""
        return self.map[:]

    def read(self, scope: int) -> int:
        """One counter now."""
        at = scope * _WIDTH
        return int.from_bytes(self.map[at : at + _WIDTH], "little")

    def bump(self, scopes: Iterable[int]) -> None:
        """Count one more change in each scope (after the change was committed)."""
        with self._locked():
            for scope in sorted(set(scopes)):
                at = scope * _WIDTH
                value = self.read(scope) + 1
                self.map[at : at + _WIDTH] = value.to_bytes(_WIDTH, "little")


# Mapped once per process and data dir, for as long as someone holds them (a page cache,
# `install`): a test suite making thousands of data dirs does not keep thousands of maps.
_opened: weakref.WeakValueDictionary[Path, Generations] = weakref.WeakValueDictionary()
# The same, by the data dir as given (`open_generations` resolves each one once).
_by_dir: weakref.WeakValueDictionary[Path, Generations] = weakref.WeakValueDictionary()
_default: Generations | None = None


def open_generations(data_dir: Path) -> Generations:
    """The counters of `data_dir`, mapped once per process."""
    # Asked for by every job and command: the path is resolved (system calls) once per dir.
    counters = _by_dir.get(data_dir)
    if counters is not None:
        return counters
    path = (data_dir / FILE_NAME).resolve()
    counters = _opened.get(path)
    if counters is None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        counters = _opened[path] = Generations(path)
    _by_dir[data_dir] = counters
    return counters


def install(data_dir: Path) -> Generations:
    """This process's counters: where a change made outside any unit of work is bumped."""
    global _default
    _default = open_generations(data_dir)
    return _default


def installed() -> Generations | None:
    """The counters `install` chose for this process, if any."""
    return _default
