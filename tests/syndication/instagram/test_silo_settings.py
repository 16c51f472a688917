"""Instagram's own settings (hearth.syndication.instagram.silo_settings): HEARTH_INSTAGRAM_*."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth import wiring
from hearth.server.core.settings import Settings, SettingsError
from hearth.syndication.instagram.silo_settings import InstagramSettings, instagram


def test_read_from_the_environment_with_the_core(tmp_path: Path) -> None:
    """The composition root's sections include Instagram's; secrets stay hidden in repr."""
    settings = Settings.from_env(
        {
            "HEARTH_DATA_DIR": str(tmp_path),
            "HEARTH_INSTAGRAM_API_URL": "http://127.0.0.1:9999/",
            "HEARTH_INSTAGRAM_APP_SECRET": "s3cret-value",
            "HEARTH_INSTAGRAM_VERIFY_TOKEN": "verify-me",
            "HEARTH_INSTAGRAM_POLL_SECONDS": "60",
            "HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS": "120",
        },
        sections=wiring.settings_sections(),
    )
    section = instagram(settings)
    assert ("http://127.0.0.1:9999", 60, 120) == (
        section.api_url,
        section.poll_seconds,
        section.comment_poll_seconds,
    )
    assert section.app_secret is not None
    assert "s3cret-value" == str(section.app_secret)
    assert "s3cret-value" not in repr(settings)


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)}, sections=[InstagramSettings])
    section = instagram(settings)
    assert ("https://graph.instagram.com", 600, 600, True) == (
        section.api_url,
        section.poll_seconds,
        section.comment_poll_seconds,
        section.first_comment,
    )


def test_comment_poll_below_a_second_names_the_variable(tmp_path: Path) -> None:
    env = {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS": "0"}
    with pytest.raises(SettingsError, match="HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS"):
        Settings.from_env(env, sections=[InstagramSettings])
