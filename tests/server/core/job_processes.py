"""Worker processes in the job tests: started apart, set going together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def run_together(children: Sequence[asyncio.subprocess.Process]) -> None:
    """Wait until every child printed `ready`, write `go` to them all (so they really compete
    for jobs), and wait for each to exit 0; any still running at the end is killed."""
    try:
        for child in children:
            assert child.stdout is not None
            assert await asyncio.wait_for(child.stdout.readline(), timeout=60) == b"ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        for child in children:
            assert await asyncio.wait_for(child.wait(), timeout=120) == 0
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
