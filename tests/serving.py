"""Running the real `hearth` command in tests: a served site on 127.0.0.1, CLI calls."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, for `serve_in_thread`."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def loopback_base(sock: socket.socket) -> str:
    """The base URL, `http://127.0.0.1:PORT/`, of a site served on `sock`."""
    return f"http://127.0.0.1:{sock.getsockname()[1]}/"


@contextmanager
def serve_in_thread(app: Any, sockets: Sequence[socket.socket]) -> Iterator[None]:
    """Serve the ASGI `app` with uvicorn on `sockets` in a daemon thread until the block ends
    (a fake remote site for a test); the sockets are closed after."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": list(sockets)}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sock in sockets:
            sock.close()


@dataclass
class Served:
    """A running `hearth serve`: its base URL, the environment it runs in, its log.

    `kill()` ends it with SIGKILL (a crash: no shutdown, no lease released) and `restart()`
    starts it again on the same port and data dir, so its URLs stay the same.
    """

    base: str
    env: dict[str, str]
    log_path: Path
    args: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    # Where the running process's output starts in the log (earlier runs come before it).
    log_offset: int = 0

    @property
    def port(self) -> int:
        return int(self.base.rstrip("/").rpartition(":")[2])

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            self.log_offset = log.tell()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hearth.cli", "serve", "--port", str(self.port),
                 *self.args],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_until_up(self.base, self.log_path, self.process)

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a power cut would: nothing gets to clean up."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def restart(self) -> None:
        self.start()

    def output(self) -> str:
        """What the current (or last) process logged."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def terminate(self) -> int | None:
        """SIGTERM unless it has ended already; its exit status (None if it never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def check_graceful_stop(self, returncode: int | None) -> None:
        """The last process shut down gracefully, and no process logged a traceback."""
        output = self.output()
        assert returncode in (0, -signal.SIGTERM), output
        assert "Application shutdown complete" in output
        assert "Traceback" not in self.log_path.read_text()


def hearth_env(data_dir: Path, base: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "HEARTH_DATA_DIR": str(data_dir), "HEARTH_URL": base, **(extra or {})}


def hearth_cli(env: Mapping[str, str], *args: str) -> str:
    """Run `hearth ARGS` in `env`; returns its stdout (fails the test on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-m", "hearth.cli", *args],
        env=dict(env), cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


@contextmanager
def hearth_serve(
    data_dir: Path, *, env: Mapping[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[Served]:
    """`hearth serve ARGS` on a free port of 127.0.0.1 until the block ends.

    Waits until the home page answers; on exit stops it with SIGTERM, and checks that it
    (the last one, after a `kill()` and `restart()`) shut down gracefully and logged no
    traceback.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    log_path = data_dir / "serve.log"
    log_path.write_bytes(b"")
    served = Served(base, hearth_env(data_dir, base, env), log_path, tuple(args))
    try:
        served.start()
        yield served
    finally:
        # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why.
        returncode = served.terminate()
    served.check_graceful_stop(returncode)


def _wait_until_up(base: str, log_path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(base, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("hearth serve did not come up: " + log_path.read_text())
