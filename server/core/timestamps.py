"""The moments Hearth chooses, and the one way pages, feeds and Micropub write them.

Formats: RFC 3339 https://www.rfc-editor.org/rfc/rfc3339#section-5.6 (Atom, JSON Feed,
Micropub `q=source`), the HTML "valid global date and time string"
https://html.spec.whatwg.org/multipage/common-microsyntaxes.html#global-dates-and-times
(`<time datetime>`, which allows at most three digits of a second's fraction) and RFC 822
dates as RSS 2.0 has them.

When Hearth picks the time itself (a post created without `published`, an edit's
`updated`) it is whole seconds: readers disagree about fractions (mf2py drops them, the
JavaScript microformats-parser keeps them) and the Nu HTML Checker refuses more than three
digits. Everything is written in UTC with `Z`, which both parsers give back unchanged
(mf2py rewrites `+00:00` as `+0000`), so the page, the feeds and `q=source` agree to the
character.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["instant", "now", "rfc822", "rfc3339"]


def now() -> datetime:
    """The current time in UTC, at whole seconds: the time Hearth stamps on what it makes."""
    return datetime.now(UTC).replace(microsecond=0)


def instant() -> datetime:
    """The exact current time in UTC: what scheduled posts' times are compared with.

    Unlike `now`, it keeps the fraction (a post due at 12:00:00.5 is not shown at
    12:00:00.2). Callers go through the module (`timestamps.instant()`), so a test can
    move the clock in one place.
    """
    return datetime.now(UTC)


def rfc3339(value: datetime) -> str:
    """`2026-12-06T22:12:20Z`: UTC, and milliseconds only when the value has a fraction.

    Valid as RFC 3339 and as an HTML global date and time. A naive value is taken as UTC.
    """
    when = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    timespec = "milliseconds" if when.microsecond else "seconds"
    return when.isoformat(timespec=timespec).replace("+00:00", "Z")


def rfc822(value: datetime) -> str:
    """`Sun, 06 Dec 2026 22:12:20 GMT`, as RSS 2.0's pubDate and lastBuildDate want it."""
    when = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return format_datetime(when, usegmt=True)
