"""Settings read from the environment, with clear errors for bad values."""

from __future__ import annotations

import ipaddress
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


def test_instagram_settings(tmp_path: Path) -> None:
    """Instagram settings keep their names; secrets stay hidden in repr."""
    settings = Settings.from_env(
        {
            "HEARTH_DATA_DIR": str(tmp_path),
            "HEARTH_INSTAGRAM_API_URL": "http://127.0.0.1:9999/",
            "HEARTH_INSTAGRAM_APP_SECRET": "s3cret-value",
            "HEARTH_INSTAGRAM_VERIFY_TOKEN": "verify-me",
            "HEARTH_INSTAGRAM_POLL_SECONDS": "60",
        }
    )
    assert "http://127.0.0.1:9999" == settings.instagram_api_url
    assert 60 == settings.instagram_poll_seconds
    assert settings.instagram_app_secret is not None
    assert "s3cret-value" == str(settings.instagram_app_secret)
    assert "s3cret-value" not in repr(settings)
    assert (
        "https://graph.instagram.com"
        == Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)}).instagram_api_url
    )


def test_job_timing_settings(tmp_path: Path) -> None:
    """Job lease, retry backoff and the comment poll period come from the environment."""
    settings = Settings.from_env(
        {
            "HEARTH_DATA_DIR": str(tmp_path),
            "HEARTH_JOB_LEASE_SECONDS": "5",
            "HEARTH_JOB_BACKOFF_SECONDS": "2",
            "HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS": "120",
        }
    )
    assert (5, 2, 120) == (
        settings.job_lease_seconds,
        settings.job_backoff_seconds,
        settings.instagram_comment_poll_seconds,
    )
    defaults = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)})
    assert (300, 30, 600) == (
        defaults.job_lease_seconds,
        defaults.job_backoff_seconds,
        defaults.instagram_comment_poll_seconds,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEARTH_JOB_LEASE_SECONDS", "0"),
        ("HEARTH_JOB_BACKOFF_SECONDS", "-1"),
        ("HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS", "0"),
        ("HEARTH_JOB_LEASE_SECONDS", "soon"),
    ],
)
def test_bad_job_timing_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    """A lease or poll period below one second, or a negative backoff, is refused clearly."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path), name: value})
