"""Running the real `hearth` command in tests: a served site on 127.0.0.1, CLI calls."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Served:
    """A running `hearth serve`: its base URL, the environment it runs in, its log."""

    base: str
    env: dict[str, str]
    log_path: Path


def hearth_env(data_dir: Path, base: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "HEARTH_DATA_DIR": str(data_dir), "HEARTH_URL": base, **(extra or {})}


def hearth_cli(env: Mapping[str, str], *args: str) -> str:
    """Run `hearth ARGS` in `env`; returns its stdout (fails the test on a non-zero exit)."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=dict(env), cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


@contextmanager
def hearth_serve(
    data_dir: Path, *, env: Mapping[str, str] | None = None, args: Sequence[str] = ()
) -> Iterator[Served]:
    """`hearth serve ARGS` on a free port of 127.0.0.1 until the block ends.

    Waits until the home page answers; on exit stops it with SIGTERM, and checks that it
    shut down gracefully and logged no traceback.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    full_env = hearth_env(data_dir, base, env)
    log_path = data_dir / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args],
            env=full_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_until_up(base, log_path)
            yield Served(base, full_env, log_path)
        finally:
            process.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status says why.
            returncode = process.wait(timeout=30)
    output = log_path.read_text()
    assert returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output


def _wait_until_up(base: str, log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("hearth serve did not come up: " + log_path.read_text())
