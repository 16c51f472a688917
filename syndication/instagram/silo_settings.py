"""Instagram's own settings: the `HEARTH_INSTAGRAM_*` variables, as one section.

The Instagram API with Instagram Login
(https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login)
needs the Meta app's id and secret for the admin's Connect and for webhook signatures; the
rest says how often to poll and what the first comment says. The core's `Settings` carries
this object among its `sections` (`instagram(settings)` reads it; its defaults when none was
given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Secret

from hearth.server.core.settings import Settings, env_flag, env_int, env_secret

__all__ = ["InstagramSettings", "instagram", "with_instagram"]


@dataclass(frozen=True)
class InstagramSettings:
    """What `HEARTH_INSTAGRAM_*` says; see README "Instagram"."""

    api_url: str = "https://graph.instagram.com"
    # Empty means the unversioned API path.
    api_version: str = ""
    app_id: str | None = None
    app_secret: Secret | None = None
    verify_token: Secret | None = None
    poll_seconds: int = 600
    # How often the comments of a media less than a day old are polled (later: less often).
    comment_poll_seconds: int = 600
    # Post the short link back on Instagram as the first comment of each copied media.
    first_comment: bool = True
    # Its text; "{citation}" becomes the permashortcitation, e.g. "(example.com s/p5my1)".
    comment_template: str = "Also on my website {citation}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> InstagramSettings:
        return cls(
            api_url=(env.get("HEARTH_INSTAGRAM_API_URL") or cls.api_url).rstrip("/"),
            api_version=env.get("HEARTH_INSTAGRAM_API_VERSION", "").strip("/ "),
            app_id=env.get("HEARTH_INSTAGRAM_APP_ID") or None,
            app_secret=env_secret(env, "HEARTH_INSTAGRAM_APP_SECRET"),
            verify_token=env_secret(env, "HEARTH_INSTAGRAM_VERIFY_TOKEN"),
            poll_seconds=env_int(env, "HEARTH_INSTAGRAM_POLL_SECONDS", cls.poll_seconds),
            comment_poll_seconds=env_int(
                env,
                "HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS",
                cls.comment_poll_seconds,
                minimum=1,
            ),
            first_comment=env_flag(env, "HEARTH_INSTAGRAM_FIRST_COMMENT", cls.first_comment),
            comment_template=env.get("HEARTH_INSTAGRAM_COMMENT_TEMPLATE") or cls.comment_template,
        )


def instagram(settings: Settings) -> InstagramSettings:
    """The Instagram section of `settings`."""
    return settings.section(InstagramSettings)


def with_instagram(settings: Settings, **changes: Any) -> Settings:
    """`settings` with some Instagram settings changed (as `dataclasses.replace` would)."""
    current = instagram(settings)
    return settings.with_section(InstagramSettings(**{**current.__dict__, **changes}))
