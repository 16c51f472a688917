"""Settings read from the environment, with clear errors for bad values."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from hearth.server.core.settings import ALL_NETWORKS, Settings, SettingsError


def test_defaults(tmp_path: Path) -> None:
    """With only a data dir set, the documented defaults apply."""
    settings = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)})
    assert settings.url == "http://127.0.0.1:8000/"
    assert settings.allowed_private_networks == ()
    assert settings.db_url.startswith("sqlite://")
    assert settings.db_url.endswith("hearth.sqlite3")


def test_url_gets_trailing_slash(tmp_path: Path) -> None:
    """HEARTH_URL without a trailing slash is normalized, host lower-cased."""
    settings = Settings.from_env(
        {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_URL": "https://Me.Example"}
    )
    assert settings.url == "https://me.example/"
    assert settings.https


def test_bad_url_names_the_variable(tmp_path: Path) -> None:
    """A non-http URL is refused with a message naming HEARTH_URL."""
    with pytest.raises(SettingsError, match="HEARTH_URL"):
        Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_URL": "example.com"})


def test_private_networks_flag_and_cidrs(tmp_path: Path) -> None:
    """`1` opens every range; a comma list opens just those CIDRs; junk is an error."""
    env = {"HEARTH_DATA_DIR": str(tmp_path)}
    assert (
        Settings.from_env({**env, "HEARTH_ALLOW_PRIVATE_NETWORKS": "1"}).allowed_private_networks
        == ALL_NETWORKS
    )
    listed = Settings.from_env({**env, "HEARTH_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8, 10.1.0.0/16"})
    assert (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("10.1.0.0/16"),
    ) == listed.allowed_private_networks
    with pytest.raises(SettingsError):
        Settings.from_env({**env, "HEARTH_ALLOW_PRIVATE_NETWORKS": "not-a-net"})


def test_postgres_url_switches_database(tmp_path: Path) -> None:
    """HEARTH_DATABASE_URL with postgresql:// selects PostgreSQL."""
    settings = Settings.from_env(
        {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_DATABASE_URL": "postgresql://u:p@db:5432/h"}
    )
    assert settings.is_postgres
    assert settings.db_url == "postgres://u:p@db:5432/h"


def test_secret_key_is_kept_across_starts_and_never_printed(tmp_path: Path) -> None:
    """The generated secret key persists in the data dir and does not show in repr."""
    first = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)})
    assert str(first.secret_key) == str(second.secret_key)
    assert str(first.secret_key) not in repr(first)


def test_settings_are_frozen(tmp_path: Path) -> None:
    """Settings cannot be changed after they are read."""
    settings = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)})
    with pytest.raises(AttributeError):
        settings.url = "https://other.example/"  # type: ignore[misc]


def test_media_flags(tmp_path: Path) -> None:
    """Media flags are off by default and read as booleans."""
    env = {"HEARTH_DATA_DIR": str(tmp_path)}
    assert not Settings.from_env(env).media_keep_exif
    on = Settings.from_env(
        {**env, "HEARTH_MEDIA_KEEP_EXIF": "1", "HEARTH_MEDIA_COPY_REMOTE": "yes"}
    )
    assert on.media_keep_exif and on.media_copy_remote


def test_job_timing_settings(tmp_path: Path) -> None:
    """Job lease and retry backoff come from the environment."""
    settings = Settings.from_env(
        {
            "HEARTH_DATA_DIR": str(tmp_path),
            "HEARTH_JOB_LEASE_SECONDS": "5",
            "HEARTH_JOB_BACKOFF_SECONDS": "2",
        }
    )
    assert (5, 2) == (settings.job_lease_seconds, settings.job_backoff_seconds)
    defaults = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)})
    assert (300, 30) == (defaults.job_lease_seconds, defaults.job_backoff_seconds)


def test_job_concurrency_setting(tmp_path: Path) -> None:
    """How many jobs a worker process runs at once: 16 by default, or HEARTH_JOB_CONCURRENCY."""
    assert 16 == Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)}).job_concurrency
    env = {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_JOB_CONCURRENCY": "1"}
    assert 1 == Settings.from_env(env).job_concurrency


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEARTH_JOB_LEASE_SECONDS", "0"),
        ("HEARTH_JOB_BACKOFF_SECONDS", "-1"),
        ("HEARTH_JOB_LEASE_SECONDS", "soon"),
        ("HEARTH_JOB_CONCURRENCY", "0"),
    ],
)
def test_bad_job_timing_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    """A lease below one second, or a negative backoff, is refused clearly."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path), name: value})


@dataclass(frozen=True)
class ExtraSettings:
    """A feature's own settings, as a section."""

    greeting: str = "hello"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ExtraSettings:
        return cls(greeting=env.get("HEARTH_EXTRA_GREETING") or cls.greeting)


def test_a_section_reads_its_own_variables(tmp_path: Path) -> None:
    env = {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_EXTRA_GREETING": "hi"}
    settings = Settings.from_env(env, sections=[ExtraSettings])
    assert "hi" == settings.section(ExtraSettings).greeting


def test_a_missing_section_has_its_defaults(tmp_path: Path) -> None:
    assert "hello" == Settings(data_dir=tmp_path).section(ExtraSettings).greeting


def test_with_section_replaces_the_one_of_its_class(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sections=(ExtraSettings("a"),))
    assert (ExtraSettings("b"),) == settings.with_section(ExtraSettings("b")).sections
