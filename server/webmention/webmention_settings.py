"""Webmention's own settings: how much the receiving endpoint takes, how politely it fetches.

Every accepted webmention costs a row, a queued job and a fetch of up to a megabyte of
someone else's site, so the endpoint limits them (429 with `Retry-After` beyond a limit, 503
while too many verifications wait), and verification never fetches one host faster than
`fetch_interval` allows (Hearth must not become a reflector that hammers a third party).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

from hearth.server.core.settings import Settings, env_int

__all__ = ["WebmentionSettings", "webmention_settings", "with_webmention"]


@dataclass(frozen=True)
class WebmentionSettings:
    # Webmentions taken a minute whose source is on one host
    # (HEARTH_WEBMENTION_PER_HOST_PER_MINUTE).
    per_host_per_minute: int = 20
    # Webmentions taken a minute in all (HEARTH_WEBMENTION_PER_MINUTE).
    per_minute: int = 120
    # Verifications waiting in the queue beyond which new ones are refused for a while
    # (HEARTH_WEBMENTION_MAX_QUEUED).
    max_queued: int = 1000
    # Seconds between two fetches of one source host by a worker
    # (HEARTH_WEBMENTION_FETCH_INTERVAL; 0 turns the spacing off).
    fetch_interval: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(
            per_host_per_minute=env_int(
                env, "HEARTH_WEBMENTION_PER_HOST_PER_MINUTE", cls.per_host_per_minute, minimum=1
            ),
            per_minute=env_int(env, "HEARTH_WEBMENTION_PER_MINUTE", cls.per_minute, minimum=1),
            max_queued=env_int(env, "HEARTH_WEBMENTION_MAX_QUEUED", cls.max_queued, minimum=1),
            fetch_interval=env_int(
                env, "HEARTH_WEBMENTION_FETCH_INTERVAL", cls.fetch_interval, minimum=0
            ),
        )


def webmention_settings(settings: Settings) -> WebmentionSettings:
    """Webmention's section of `settings` (the defaults when none was read)."""
    return settings.section(WebmentionSettings)


def with_webmention(settings: Settings, **changes: Any) -> Settings:
    """`settings` with some webmention settings changed (as `dataclasses.replace` would)."""
    return settings.with_section(replace(webmention_settings(settings), **changes))
