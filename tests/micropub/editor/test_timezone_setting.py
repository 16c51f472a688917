"""HEARTH_TIMEZONE: the site's time zone, an IANA name, UTC unless set."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.server.core.settings import Settings, SettingsError


def test_default_is_utc(tmp_path: Path) -> None:
    assert Settings.from_env({"HEARTH_DATA_DIR": str(tmp_path)}).timezone == "UTC"
    assert Settings().timezone == "UTC"


def test_a_zone_name_is_kept(tmp_path: Path) -> None:
    env = {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_TIMEZONE": " Europe/Paris "}
    assert Settings.from_env(env).timezone == "Europe/Paris"


@pytest.mark.parametrize("value", ["Mars/Olympus", "+02:00", "../../etc/passwd", "Europe/"])
def test_an_unknown_zone_names_the_variable(tmp_path: Path, value: str) -> None:
    env = {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_TIMEZONE": value}
    with pytest.raises(SettingsError, match="HEARTH_TIMEZONE"):
        Settings.from_env(env)
