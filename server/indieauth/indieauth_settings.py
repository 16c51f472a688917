"""IndieAuth's settings: token lifetimes, and the server to trust instead of Hearth's own.

Delegation (`HEARTH_AUTHORIZATION_ENDPOINT` with `HEARTH_TOKEN_ENDPOINT`): the home page
advertises those endpoints and Micropub verifies tokens it did not issue at that token
endpoint (https://indieauth.spec.indieweb.org/20201126/#access-token-verification).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Self
from urllib.parse import urlsplit

from hearth.server.core.settings import Settings, SettingsError, env_int

__all__ = ["IndieAuthSettings", "indieauth", "with_indieauth"]


def _endpoint(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    return raw


@dataclass(frozen=True)
class IndieAuthSettings:
    # Another IndieAuth server's endpoints; both or neither.
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    # How long what Hearth issues lasts. Access tokens are long-lived because many Micropub
    # clients (Quill, micropub.rocks) never refresh; refresh tokens renew them.
    access_token_days: int = 90
    refresh_token_days: int = 365
    # Visitor sign-in sessions (people who signed in with their own site).
    visitor_session_days: int = 30

    @property
    def delegated(self) -> bool:
        return self.token_endpoint is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        authorization = _endpoint(env, "HEARTH_AUTHORIZATION_ENDPOINT")
        token = _endpoint(env, "HEARTH_TOKEN_ENDPOINT")
        if (authorization is None) != (token is None):
            raise SettingsError(
                "set both HEARTH_AUTHORIZATION_ENDPOINT and HEARTH_TOKEN_ENDPOINT, or neither"
            )
        return cls(
            authorization_endpoint=authorization,
            token_endpoint=token,
            access_token_days=env_int(
                env, "HEARTH_ACCESS_TOKEN_DAYS", cls.access_token_days, minimum=1
            ),
            refresh_token_days=env_int(
                env, "HEARTH_REFRESH_TOKEN_DAYS", cls.refresh_token_days, minimum=1
            ),
            visitor_session_days=env_int(
                env, "HEARTH_VISITOR_SESSION_DAYS", cls.visitor_session_days, minimum=1
            ),
        )


def indieauth(settings: Settings) -> IndieAuthSettings:
    """IndieAuth's section of `settings` (the defaults when none was read)."""
    return settings.section(IndieAuthSettings)


def with_indieauth(settings: Settings, **changes: Any) -> Settings:
    """`settings` with some IndieAuth settings changed (as `dataclasses.replace` would)."""
    return settings.with_section(replace(indieauth(settings), **changes))
