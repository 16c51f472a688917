"""Helpers for benches that run the real `hearth` commands and fake remote sites on loopback.

- `HearthProcess`: one `hearth ...` child process with its own log file, its memory (RSS from
  `/proc/<pid>/status`) and a graceful stop (SIGTERM, then SIGKILL after a timeout);
- `hearth_cli`: run a short `hearth ...` command and return its stdout;
- `ThreadServer`: serve an ASGI app with uvicorn in a daemon thread on 127.0.0.1, with the
  thread's event loop at hand, so a bench can change a fake's state on the same loop that
  serves it (the fakes keep plain lists and dicts: mutating them from another thread while a
  request iterates them would be a race in the fake, not in Hearth).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

T = TypeVar("T")
HEARTH = (sys.executable, "-m", "hearth.cli")


def loopback_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with loopback_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


def rss_kb(pid: int) -> int | None:
    """The resident set size of `pid` in kB (VmRSS), or None once it has ended."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def hearth_cli(env: Mapping[str, str], cwd: Path, *args: str, timeout: float = 120) -> str:
    """Run `hearth ARGS` in `cwd`; its stdout. Exits with its output if it fails.

    `python -m` puts the working directory first on sys.path: run it where no `hearth` package
    is (the data dir), so `PYTHONPATH` or the installed package decides which code runs.
    """
    done = subprocess.run(  # noqa: S603 - our own command
        [*HEARTH, *args], env=dict(env), cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"hearth {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@dataclass
class HearthProcess:
    """A long-running `hearth ...` child (serve, worker), its output in `log`."""

    name: str
    args: Sequence[str]
    env: Mapping[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        # In the log's directory (the data dir), not in a checkout: see `hearth_cli`.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                [*HEARTH, *self.args], env=dict(self.env), cwd=self.log.parent,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kb(self) -> int | None:
        return rss_kb(self.pid) if self.alive() else None

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (a graceful stop: the job in hand is finished or released); SIGKILL if it
        has not ended after `timeout` seconds. Its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def wait_until_up(base: str, process: HearthProcess, seconds: float = 60) -> None:
    """Wait until `base` answers 200 (the served site is up); exit with its log if not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.alive():
        try:
            if httpx.get(base, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{process.name} did not come up:\n{process.output()}")


def wait_for_output(process: HearthProcess, text: str, seconds: float = 60) -> None:
    """Wait until `process` has logged `text` (e.g. a worker's "started"); exit if it ends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.alive():
        if text in process.output():
            return
        time.sleep(0.2)
    raise SystemExit(f"{process.name} did not log {text!r}:\n{process.output()}")


class ThreadServer:
    """An ASGI app served by uvicorn on `sock` in a daemon thread, with its own event loop.

    `call(fn, ...)` runs `fn` on that loop (between two requests' steps, never during one),
    and returns its result to the calling thread.
    """

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.sock = sock
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        self.loop = asyncio.new_event_loop()
        # Keep-alive longer than the clients' (httpx: 5 s), so a fake never closes a connection
        # as a client reuses it (a "Server disconnected" that would be the fake's doing).
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_keep_alive=30
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` run on the server's loop; blocks this thread until done."""
        return self.submit(fn, *args, **kwargs).result(timeout=30)

    async def acall(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call` for a coroutine on another event loop: awaits instead of blocking it."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))
