"""Posts of an Instagram data export, read from its JSON: pure, no zip, no database.

What is read here follows the exports as other importers have met them (e.g.
https://github.com/pixelfed/pixelfed/pull/5822): the `posts_N.json` of 2021 onwards, the
caption at post level or, in older single-media posts, in the first media's title
(https://github.com/pixelfed/pixelfed/issues/4494), the mojibake every string carries
(https://sorashi.github.io/fix-facebook-json-archive-encoding/), and the 2018-2020 root
`media.json` (https://github.com/sfomuseum/go-sfomuseum-instagram). The export has no media
ids or permalinks, so a post's key is made from its first file and its time.

`export_zip` finds the JSON files, reads them a post at a time and resolves each `uri` to a zip
member; this module turns the parsed JSON (a post, a whole file) into `ExportPost`s through a
`resolve` callback, so it never touches a file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any

# Where a media file is: (index of the zip part, member name), or None when no part has it.
Located = tuple[int, str] | None
Resolver = Callable[[str], Located]

# A hint from the JSON; the stored bytes decide in the end (files may lack an extension).
PHOTO, VIDEO = "photo", "video"
_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm"}
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".gif", ".avif"}
# Subtitles of a reel or video: not a media item of the post.
_SKIPPED_SUFFIXES = {".srt"}


class ExportError(ValueError):
    """An export that cannot be imported; the message says what to do."""


@dataclass(frozen=True)
class ExportMedia:
    """One file of a post, in carousel order."""

    # The path as the JSON gives it, relative to the export's root.
    uri: str
    # Which zip part holds it and under which member name; None when no part has it.
    part: int | None
    member: str | None
    # "photo", "video" or None (unknown), from the JSON's metadata or the extension.
    kind: str | None

    @property
    def basename(self) -> str:
        return PurePosixPath(self.uri).name


@dataclass(frozen=True)
class ExportPost:
    """One post of the export: its time, caption and files."""

    published: datetime
    caption: str
    media: tuple[ExportMedia, ...]
    # Every Unix time the JSON gives for the post: its own, then its files' (the post's time
    # is often a second or two after its files'), to match an API copy by time.
    times: tuple[int, ...]

    @cached_property  # asked for many times in a chunk (its files, its marker, its log)
    def key(self) -> str:
        """The same post in any export: sha256 of its first file's name and its time."""
        raw = f"{self.media[0].basename}\n{int(self.published.timestamp())}"
        # surrogatepass: JSON can hold a lone surrogate ("\\ud800"), which is no UTF-8.
        return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """A job payload that `from_json` reads back."""
        return {
            "published": int(self.published.timestamp()),
            "caption": self.caption,
            "media": [[m.uri, m.part, m.member, m.kind] for m in self.media],
            "times": list(self.times),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportPost:
        media = tuple(ExportMedia(*item) for item in data["media"])
        when = datetime.fromtimestamp(data["published"], UTC)
        return cls(when, data["caption"], media, tuple(data["times"]))


def fix_text(text: str) -> str:
    """Undo Meta's mojibake: UTF-8 bytes written as one `\\u00XX` escape each."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text  # already real Unicode (beyond U+00FF), or genuine Latin-1


def fix_all(value: Any) -> Any:
    """`fix_text` on every string of parsed JSON, keys included (labels are mangled too)."""
    if isinstance(value, str):
        return fix_text(value)
    if isinstance(value, list):
        return [fix_all(item) for item in value]
    if isinstance(value, dict):
        return {fix_all(key): fix_all(item) for key, item in value.items()}
    return value


def _unix(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = int(float(value))
    except (ValueError, OverflowError):
        return None
    # Short links count days since 1970, and nothing was on Instagram before 2010 anyway.
    return seconds if 0 < seconds < 2**37 else None


def _kind(item: dict[str, Any], uri: str) -> str | None:
    metadata = item.get("media_metadata")
    if isinstance(metadata, dict):
        if "video_metadata" in metadata:
            return VIDEO
        if "photo_metadata" in metadata:
            return PHOTO
    suffix = PurePosixPath(uri).suffix.lower()
    return VIDEO if suffix in _VIDEO_SUFFIXES else PHOTO if suffix in _PHOTO_SUFFIXES else None


def _media(uri: str, kind: str | None, resolve: Resolver) -> ExportMedia:
    located = resolve(uri)
    if located is None:
        return ExportMedia(uri, None, None, kind)
    return ExportMedia(uri, located[0], located[1], kind)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_post(raw: Any, resolve: Resolver) -> ExportPost | str:
    """One post object of `posts_N.json` (mojibake fixed), or why it is skipped."""
    if not isinstance(raw, dict):
        return "not an object"
    items = raw.get("media")
    items = [items] if isinstance(items, dict) else items  # a lone media object
    if not isinstance(items, list):
        return "no media list"
    items = [i for i in items if isinstance(i, dict) and isinstance(i.get("uri"), str)]
    items = [i for i in items if PurePosixPath(i["uri"]).suffix.lower() not in _SKIPPED_SUFFIXES]
    if not items:
        return "no media files"
    times = [
        _unix(raw.get("creation_timestamp")),
        *(_unix(i.get("creation_timestamp")) for i in items),
    ]
    known = [t for t in dict.fromkeys(times) if t is not None]
    if not known:
        return "no creation_timestamp"
    # The post's own title, else the first non-empty media title (older single-media posts
    # keep the caption only there).
    caption = _text(raw.get("title")) or next(
        (_text(i.get("title")) for i in items if i.get("title")), ""
    )
    media = tuple(_media(i["uri"], _kind(i, i["uri"]), resolve) for i in items)
    return ExportPost(datetime.fromtimestamp(known[0], UTC), caption, media, tuple(known))


def posts_from_items(data: Any, resolve: Resolver) -> tuple[list[ExportPost], list[str]]:
    """The posts of one parsed (and mojibake-fixed) `posts_N.json`, and why others were skipped.

    The file is a list of posts, or a lone post object when there is only one.
    """
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ExportError("expected a list of posts")
    posts: list[ExportPost] = []
    skipped: list[str] = []
    for index, raw in enumerate(data):
        result = read_post(raw, resolve)
        if isinstance(result, str):
            skipped.append(f"post {index + 1}: {result}")
        else:
            posts.append(result)
    return posts, skipped


def _taken_at(value: Any) -> datetime | None:
    """An old `taken_at`: ISO 8601, with or without an offset (none means UTC)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        return None


def posts_from_old_media(data: Any, resolve: Resolver) -> tuple[list[ExportPost], list[str]]:
    """The posts of a 2018-2020 root `media.json`: `photos` and `videos` only.

    Stories, profile pictures and direct messages are not posts. A carousel is one entry per
    file with the same `taken_at` and `caption`, so entries are grouped by those two.
    """
    if not isinstance(data, dict):
        raise ExportError("expected an object with photos and videos")
    groups: dict[tuple[datetime, str], list[ExportMedia]] = {}
    skipped: list[str] = []
    for section, kind in (("photos", PHOTO), ("videos", VIDEO)):
        entries = data.get(section)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            path = entry.get("path") if isinstance(entry, dict) else None
            when = _taken_at(entry.get("taken_at")) if isinstance(entry, dict) else None
            if not isinstance(path, str) or when is None or when.timestamp() <= 0:
                skipped.append(f"{section} {index + 1}: no path or taken_at")
                continue
            caption = _text(entry.get("caption"))
            media = _media(path, kind, resolve)
            groups.setdefault((when, caption), []).append(media)
    posts = [
        ExportPost(when, caption, tuple(media), (int(when.timestamp()),))
        for (when, caption), media in groups.items()
    ]
    return posts, skipped
