"""The `hearth` command as a user runs it: a real process with HEARTH_* in its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The commands open the database themselves: the PostgreSQL pass runs these too.
pytestmark = pytest.mark.store


def hearth(
    data_dir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir), "HEARTH_URL": "https://me.example/"}
    return subprocess.run(
        [sys.executable, "-m", "hearth.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(name="data_dir")
def data_dir_fixture(tmp_path: Path) -> Path:
    return tmp_path / "site"


def test_help_documents_every_command(data_dir: Path) -> None:
    """`hearth --help` names each command with a description."""
    result = hearth(data_dir, "--help")
    assert result.returncode == 0
    for command in ("serve", "worker", "migrate", "set-password", "demo", "token"):
        assert command in result.stdout


def test_serve_help_lists_its_options(data_dir: Path) -> None:
    """`hearth serve --help` documents --host, --port and --no-worker."""
    result = hearth(data_dir, "serve", "--help")
    for option in ("--host", "--port", "--no-worker"):
        assert option in result.stdout


@pytest.mark.one_store
def test_migrate_creates_the_database(data_dir: Path) -> None:
    """`hearth migrate` creates the data dir and the SQLite file, and is safe to repeat."""
    assert hearth(data_dir, "migrate").returncode == 0
    assert (data_dir / "hearth.sqlite3").is_file()
    assert hearth(data_dir, "migrate").returncode == 0


def test_token_create_prints_token_on_last_line(data_dir: Path) -> None:
    """The new token is alone on the last line of stdout, and `token list` shows its prefix."""
    result = hearth(data_dir, "token", "create", "--scope", "create media")
    assert result.returncode == 0
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) >= 32 and " " not in token
    listing = hearth(data_dir, "token", "list").stdout
    assert token[:8] in listing
    assert "create media" in listing
    assert token not in listing


def test_token_revoke_removes_it_from_the_list(data_dir: Path) -> None:
    """A revoked token no longer appears among the live ones; revoking twice fails."""
    token = hearth(data_dir, "token", "create").stdout.strip().splitlines()[-1]
    assert hearth(data_dir, "token", "revoke", token).returncode == 0
    assert token[:8] not in hearth(data_dir, "token", "list").stdout
    assert hearth(data_dir, "token", "revoke", token).returncode == 1


def test_set_password_from_stdin(data_dir: Path) -> None:
    """`hearth set-password` reads the password from stdin when it is not a terminal."""
    result = hearth(data_dir, "set-password", stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    assert "correct horse" not in result.stdout + result.stderr


def test_set_password_refuses_a_short_one(data_dir: Path) -> None:
    """A too-short password is refused with a message, not a traceback."""
    result = hearth(data_dir, "set-password", stdin="short\n")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_demo_fills_only_an_empty_site(data_dir: Path) -> None:
    """`hearth demo` adds posts once; a second run leaves the site alone."""
    first = hearth(data_dir, "demo")
    assert first.returncode == 0, first.stderr
    assert "Created" in first.stdout
    assert "already" in hearth(data_dir, "demo").stdout


def test_bad_setting_is_a_clear_error(data_dir: Path) -> None:
    """A malformed HEARTH_URL stops the command with a message naming the variable."""
    env = {**os.environ, "HEARTH_DATA_DIR": str(data_dir), "HEARTH_URL": "ftp://nope"}
    result = subprocess.run(
        [sys.executable, "-m", "hearth.cli", "migrate"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "HEARTH_URL" in result.stderr
