"""Publication times as the editor shows them: local to the site's time zone.

The owner picks a time with `<input type="datetime-local">` (no zone: "2026-12-01T09:30")
beside the name of the site's zone (`HEARTH_TIMEZONE`); the editor sends it to Micropub as
RFC 3339 with that zone's offset at that moment ("2026-12-01T09:30:00+01:00"), so the
post keeps the instant and the offset the owner meant. Daylight saving time is the zone's
business: zoneinfo gives each moment its own offset.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

__all__ = ["in_future", "local_input", "parse_local", "to_rfc3339"]

# What datetime-local inputs send and accept (seconds are optional there).
_INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def local_input(value: datetime | str, zone: str) -> str:
    """A stored time (a datetime, or the client's ISO 8601 string) as a datetime-local value
    in `zone`, to the minute; "" for a string that is not a date-time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def parse_local(text: str, zone: str) -> datetime:
    """The instant a datetime-local value names in `zone`; ValueError if it names none."""
    for pattern in _INPUT_FORMATS:
        try:
            naive = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return naive.replace(tzinfo=ZoneInfo(zone))
    raise ValueError(f"Published must be a date and time such as 2026-12-01T09:30, got {text!r}")


def to_rfc3339(when: datetime) -> str:
    """RFC 3339 with the offset `when` carries: "2026-12-01T09:30:00+01:00" ("Z" for UTC)."""
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def in_future(text: str, zone: str, now: datetime | None = None) -> bool:
    """Whether a datetime-local value names a time still to come (False if it is none)."""
    try:
        when = parse_local(text, zone)
    except ValueError:
        return False
    return when > (now or datetime.now(UTC))
