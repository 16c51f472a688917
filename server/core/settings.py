"""Hearth's settings: one frozen object, read once from the environment.

Every other module receives a `Settings` instance explicitly (through `create_app`, the
CLI or a test fixture); nothing reads `os.environ` on its own. A feature with settings of
its own (a silo's) brings a `SettingsSection` class; `Settings.from_env` reads those from the
same environment, and `Settings.sections` carries them.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import urlsplit

from starlette.datastructures import Secret

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# "1" (or "true"/"yes"/"all") opens every address range; these two cover all of them.
ALL_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("0.0.0.0/0"),
    ipaddress.ip_network("::/0"),
)

MODERATION_MODES = ("known", "manual", "all")

# The data dir and the files in it that hold secrets: its user's alone.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_FILES = (
    "hearth.sqlite3",
    "hearth.sqlite3-wal",
    "hearth.sqlite3-shm",
    "hearth.sqlite3-journal",
    "secret_key",
)


class SettingsError(ValueError):
    """A setting has a value Hearth cannot use; the message names the variable."""


class SettingsSection(Protocol):
    """A feature's own settings: a frozen dataclass whose defaults make a working (if idle)
    feature, read from the environment by `from_env`."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self: ...


S = TypeVar("S", bound=SettingsSection)


def _normalize_base_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"HEARTH_URL must be an absolute http(s) URL, got {raw!r}")
    if parts.query or parts.fragment:
        raise SettingsError("HEARTH_URL must not carry a query or fragment")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def parse_private_networks(raw: str) -> tuple[IPNetwork, ...]:
    """Read HEARTH_ALLOW_PRIVATE_NETWORKS: off, `1` for all, or a comma list of CIDRs."""
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return ()
    if value in ("1", "true", "yes", "on", "all"):
        return ALL_NETWORKS
    networks = []
    for item in value.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as exc:
            raise SettingsError(
                f"HEARTH_ALLOW_PRIVATE_NETWORKS: {item.strip()!r} is not a CIDR"
            ) from exc
    return tuple(networks)


def parse_timezone(raw: str) -> str:
    """Read HEARTH_TIMEZONE: an IANA zone name such as `Europe/Paris` (empty: UTC)."""
    name = raw.strip() or "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            f"HEARTH_TIMEZONE must be an IANA time zone such as Europe/Paris, got {raw!r}"
        ) from exc
    return name


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_secret(env: Mapping[str, str], name: str) -> Secret | None:
    raw = env.get(name)
    return Secret(raw) if raw else None


def env_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Hearth site."""

    # Public base URL, always ending in "/"; every absolute URL is built from it.
    url: str = "http://127.0.0.1:8000/"
    data_dir: Path = Path("data")
    # None means the SQLite file in data_dir.
    database_url: str | None = None
    # Address ranges outbound HTTP may reach although they are not public.
    allowed_private_networks: tuple[IPNetwork, ...] = ()
    name: str = "Hearth owner"
    photo: str | None = None
    note: str | None = None
    websub_hub: str | None = None
    moderation: str = "known"
    # Signs session cookies and CSRF tokens; generated into data_dir when not given.
    secret_key: Secret = field(default_factory=lambda: Secret(secrets.token_urlsafe(32)))
    # Posts per page on the home page, tag pages and feeds.
    page_size: int = 20
    # Outbound HTTP limits (seconds, bytes, hops).
    http_timeout: float = 10.0
    http_max_bytes: int = 5 * 1024 * 1024
    http_max_redirects: int = 5
    # Largest upload accepted by the media endpoint.
    media_max_bytes: int = 25 * 1024 * 1024
    # Keep EXIF (camera, GPS) in uploaded images; stripped by default for privacy.
    media_keep_exif: bool = False
    # Copy photos given by URL into the media store (by a job) instead of linking them.
    media_copy_remote: bool = False
    # Seconds a worker holds a job before another worker may take it over (also how long a
    # crashed worker's claim on a silo's copy or comment blocks the next try).
    job_lease_seconds: int = 300
    # The first retry of a failed job waits about this long; each further one twice as long.
    job_backoff_seconds: int = 30
    # Jobs one worker process runs at once: enough to keep tens of network-bound jobs
    # (webmention verifications, pings) in flight, few enough for one process's memory and
    # one SQLite connection.
    job_concurrency: int = 16
    # Admin sign-in: failures per address before a lock, and the lock's length in seconds.
    login_max_failures: int = 5
    login_lock_seconds: int = 900
    # The site's time zone (IANA name): the editor shows and reads publication times in it.
    timezone: str = "UTC"
    # The settings of the features that have their own (a silo's), one object per class:
    # read with `section(Class)`, built from the environment by `from_env(sections=...)`.
    sections: tuple[SettingsSection, ...] = ()

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        sections: Iterable[type[SettingsSection]] = (),
        **overrides: Any,
    ) -> Settings:
        """Build settings from `env` (default `os.environ`); keyword overrides win.

        `sections` are the classes of the features' own settings (the composition root's
        list); each reads its variables from the same `env`.
        """
        env = os.environ if env is None else env
        data_dir = Path(env.get("HEARTH_DATA_DIR") or "data").expanduser().resolve()
        moderation = (env.get("HEARTH_MODERATION") or "known").strip().lower()
        if moderation not in MODERATION_MODES:
            raise SettingsError(f"HEARTH_MODERATION must be one of {', '.join(MODERATION_MODES)}")
        secret = env.get("HEARTH_SECRET_KEY")
        values: dict[str, Any] = {
            "url": _normalize_base_url(env.get("HEARTH_URL") or cls.url),
            "data_dir": data_dir,
            "database_url": env.get("HEARTH_DATABASE_URL") or None,
            "allowed_private_networks": parse_private_networks(
                env.get("HEARTH_ALLOW_PRIVATE_NETWORKS", "")
            ),
            "name": env.get("HEARTH_NAME") or cls.name,
            "photo": env.get("HEARTH_PHOTO") or None,
            "note": env.get("HEARTH_NOTE") or None,
            "websub_hub": env.get("HEARTH_WEBSUB_HUB") or None,
            "moderation": moderation,
            "page_size": env_int(env, "HEARTH_PAGE_SIZE", cls.page_size),
            "media_max_bytes": env_int(env, "HEARTH_MEDIA_MAX_BYTES", cls.media_max_bytes),
            "media_keep_exif": env_flag(env, "HEARTH_MEDIA_KEEP_EXIF", cls.media_keep_exif),
            "media_copy_remote": env_flag(env, "HEARTH_MEDIA_COPY_REMOTE", cls.media_copy_remote),
            "job_lease_seconds": env_int(
                env, "HEARTH_JOB_LEASE_SECONDS", cls.job_lease_seconds, minimum=1
            ),
            "job_backoff_seconds": env_int(
                env, "HEARTH_JOB_BACKOFF_SECONDS", cls.job_backoff_seconds, minimum=0
            ),
            "job_concurrency": env_int(
                env, "HEARTH_JOB_CONCURRENCY", cls.job_concurrency, minimum=1
            ),
            "timezone": parse_timezone(env.get("HEARTH_TIMEZONE", "")),
        }
        if secret:
            values["secret_key"] = Secret(secret)
        values["sections"] = tuple(section.from_env(env) for section in sections)
        values.update(overrides)
        settings = cls(**values)
        if not secret and "secret_key" not in overrides:
            settings = replace(settings, secret_key=Secret(_stored_secret(settings.data_dir)))
        return settings

    @property
    def https(self) -> bool:
        return self.url.startswith("https://")

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def db_url(self) -> str:
        """The Tortoise connection URL: PostgreSQL when configured, else SQLite in data_dir."""
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgres://" + url[len("postgresql://") :]
            return url
        return f"sqlite://{self.data_dir / 'hearth.sqlite3'}"

    @property
    def is_postgres(self) -> bool:
        return self.db_url.startswith(("postgres://", "asyncpg://"))

    def section(self, kind: type[S]) -> S:
        """The settings of type `kind` (a feature's own); its defaults if none were given."""
        for section in self.sections:
            if isinstance(section, kind):
                return section
        return kind()

    def with_section(self, section: SettingsSection) -> Settings:
        """These settings with `section` in place of any other of its class."""
        kept = tuple(s for s in self.sections if type(s) is not type(section))
        return replace(self, sections=(*kept, section))

    def absolute(self, path: str) -> str:
        """Absolute URL for a site path such as `/s/t5my1` or `tag/x`."""
        return self.url + path.lstrip("/")

    def ensure_dirs(self) -> None:
        """The data dir, private to its user (0700), with its media dir; the database files
        and the secret key in it are made 0600, also where an older Hearth left them
        readable to all. (SQLite gives the -wal and -shm files its database file's mode.)"""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        _make_private(self.data_dir, PRIVATE_DIR_MODE)
        self.media_dir.mkdir(parents=True, exist_ok=True)
        for name in PRIVATE_FILES:
            _make_private(self.data_dir / name, PRIVATE_FILE_MODE)


def _make_private(path: Path, mode: int) -> None:
    """Take group and other permissions away from `path`, if it exists and is ours."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077:
            path.chmod(current & mode)
    except (FileNotFoundError, PermissionError):
        pass  # not there (yet), or another user's: nothing this process may change


def _stored_secret(data_dir: Path) -> str:
    """The site's secret key, created once in the data dir so restarts keep sessions."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    value = secrets.token_urlsafe(32)
    # 0600: only the owner of the process may read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
