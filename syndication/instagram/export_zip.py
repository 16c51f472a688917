"""Instagram's "Download Your Information" zip(s) -> the owner's posts: pure, no DB, no HTTP.

The zip's layout has changed by era (the 2025 move of the posts files:
https://github.com/pixelfed/pixelfed/pull/5822), may sit under wrapper folders, and a large
export comes as several zips (https://github.com/greg-randall/memento-mori/issues/11); the
JSON itself is read by `export_json`.

* Each zip part is indexed by member name with any wrapper folders stripped
  (`instagram-<user>-<date>-<token>/`, `meta-<date>/instagram-…/`, …: everything before the
  first folder an export has at its root). `__MACOSX/` and `._*` entries are ignored.
* The posts are every `posts_N.json` of the three layouts since 2021, in any part, in number
  order; failing those, the 2018-2020 root `media.json`. An HTML export (no JSON) is refused
  with "re-export as JSON"; an export without posts with an error saying what was looked for.
* A `uri` is relative to the export's root. When no part has it there, `media/other/<name>`
  and then any member with the same file name, in any part, is used.
* Stories, reels, archived and recently deleted posts are never read: not posts to publish.
* Hostile zips: members are only ever read by name through `ZipFile`, never extracted, so
  names with `..` or absolute paths cannot reach the file system. A member's declared size is
  checked before reading and it is read with a limit anyway (the declared size can lie);
  JSON is capped per file and in total, and so is the number of members.
"""

from __future__ import annotations

import json
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from hearth.syndication.instagram.export_json import (
    ExportError,
    ExportPost,
    Located,
    fix_all,
    posts_from_items,
    posts_from_old_media,
)

__all__ = ["Export", "ExportError", "ExportPost", "read_export", "read_member"]

# A posts file of a large account is a few MB; these bound what a hostile zip can make us parse.
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_TOTAL_JSON_BYTES = 256 * 1024 * 1024
# Real exports hold thousands of files; a central directory of millions is an attack.
MAX_MEMBERS = 200_000
# Folders (and files) an export has at its root, in every era: whatever precedes the first
# of them in a member name is a wrapper folder.
_ROOT_DIRS = {
    "your_instagram_activity", "content", "media", "photos", "videos", "stories", "profile",
    "direct", "personal_information", "connections", "comments", "likes", "messages",
    "followers_and_following", "ads_information", "logged_information", "preferences",
    "security_and_login_information", "apps_and_websites_off_of_instagram",
}  # fmt: skip
_ROOT_FILES = {"media.json", "start_here.html", "index.html"}
_POSTS = re.compile(r"^(?:your_instagram_activity/(?:media|content)/|content/)posts_(\d+)\.json$")
_OLD_MEDIA = "media.json"


@dataclass
class Export:
    """The posts of one or several zips, oldest first, each once; and why others were not."""

    posts: list[ExportPost] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def export_name(member: str) -> str | None:
    """`member` relative to the export's root, or None for macOS clutter and folders."""
    parts = PurePosixPath(member).parts
    if not parts or member.endswith("/") or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return None
    last = len(parts) - 1
    for depth, part in enumerate(parts):
        if part in (_ROOT_DIRS if depth < last else _ROOT_FILES):
            return "/".join(parts[depth:])
    return "/".join(parts)


class _Parts:
    """The zip parts, with every member indexed by its export name and by its file name."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.names = [path.name for path in paths]
        self.zips: list[zipfile.ZipFile] = []
        self.by_name: dict[str, tuple[int, str]] = {}
        self.by_basename: dict[str, tuple[int, str]] = {}
        for index, path in enumerate(paths):
            self.zips.append(_open(path))
            infos = self.zips[-1].infolist()
            if len(infos) > MAX_MEMBERS:
                raise ExportError(f"{path.name}: more than {MAX_MEMBERS} files; is it an export?")
            for info in infos:
                if (name := export_name(info.filename)) is not None:
                    self.by_name.setdefault(name, (index, info.filename))
                    self.by_basename.setdefault(PurePosixPath(name).name, (index, info.filename))
        self.json_budget = MAX_TOTAL_JSON_BYTES

    def close(self) -> None:
        for archive in self.zips:
            archive.close()

    def resolve(self, uri: str) -> Located:
        name = PurePosixPath(uri.strip().lstrip("/")).name
        return (
            self.by_name.get(uri.strip().lstrip("/"))
            or self.by_name.get(f"media/other/{name}")
            or self.by_basename.get(name)
        )

    def load_json(self, part: int, member: str) -> object:
        where = f"{self.names[part]}: {member}"
        data = _read(self.zips[part], member, MAX_JSON_BYTES, where)
        self.json_budget -= len(data)
        if self.json_budget < 0:
            raise ExportError(f"the posts files are larger than {MAX_TOTAL_JSON_BYTES} bytes")
        try:
            return fix_all(json.loads(data))
        except (ValueError, RecursionError) as exc:
            raise ExportError(f"{where} is not valid JSON ({exc})") from None


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"{path.name} is not a zip file ({exc})") from None


def _read(archive: zipfile.ZipFile, member: str, limit: int, where: str) -> bytes:
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ExportError(f"{where}: not in the zip") from None
    if info.file_size > limit:
        raise ExportError(f"{where} is larger than {limit} bytes")
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
        raise ExportError(f"{where} cannot be read ({exc})") from None
    if len(data) > limit:
        raise ExportError(f"{where} is larger than {limit} bytes")
    return data


class _OpenZips:
    """The last few zips `read_member` opened, kept open.

    Opening a zip reads its whole central directory: once per member, an export of thousands
    of files costs time that grows with its size for every file read (measured 2 ms per file
    at 400 entries, 9 ms at 1,400). The import's post jobs read member after member of the
    same zip, so keeping it open makes each read cost the same. Imported zips are stored
    under their content hash and never rewritten, so an open one cannot go stale. Each zip is
    read by one thread at a time.
    """

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._zips: OrderedDict[Path, tuple[zipfile.ZipFile, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, path: Path, member: str, limit: int) -> bytes:
        archive, lock = self._get(path)
        with lock:
            return _read(archive, member, limit, f"{path.name}: {member}")

    def _get(self, path: Path) -> tuple[zipfile.ZipFile, threading.Lock]:
        with self._lock:
            if path in self._zips:
                self._zips.move_to_end(path)
                return self._zips[path]
            entry = self._zips[path] = (_open(path), threading.Lock())
            while len(self._zips) > self._size:
                _, (old, old_lock) = self._zips.popitem(last=False)
                with old_lock:  # not while another thread reads it
                    old.close()
            return entry


_open_zips = _OpenZips()


def read_member(path: Path, member: str, limit: int) -> bytes:
    """The bytes of one member of the zip at `path`, at most `limit` of them (else ExportError)."""
    return _open_zips.read(path, member, limit)


def _posts_files(parts: _Parts) -> list[tuple[int, str]]:
    found: list[tuple[int, int, str]] = []
    for index, archive in enumerate(parts.zips):
        for info in archive.infolist():
            name = export_name(info.filename)
            if name is not None and (match := _POSTS.match(name)):
                found.append((int(match[1]), index, info.filename))
    return [(index, member) for _, index, member in sorted(found)]


def _refuse_without_posts(parts: _Parts, paths: Sequence[Path]) -> None:
    names = ", ".join(path.name for path in paths)
    if any(name.endswith(".html") for name in parts.by_name):
        raise ExportError(
            f"{names}: this is an HTML export; Hearth reads the JSON one. Request your "
            "information again with the format set to JSON, and import that zip."
        )
    raise ExportError(
        f"{names}: no posts found (looked for your_instagram_activity/media/posts_1.json, its "
        "older places content/posts_1.json and your_instagram_activity/content/posts_1.json, "
        "and the old media.json). Is this an Instagram export with your posts (Content) in it?"
    )


def read_export(paths: Sequence[Path]) -> Export:
    """Every post of the export in the zip(s) at `paths` (its parts, in any order).

    Raises ExportError, with a message for the owner, for a zip that is not an Instagram
    JSON export with posts, an unreadable zip, or a posts file that is not valid JSON.
    """
    if not paths:
        raise ExportError("no zip file given")
    parts = _Parts(paths)
    try:
        export = Export()
        files = _posts_files(parts)
        if files:
            for part, member in files:
                data = parts.load_json(part, member)
                try:
                    posts, skipped = posts_from_items(data, parts.resolve)
                except ExportError as exc:
                    raise ExportError(f"{parts.names[part]}: {member}: {exc}") from None
                export.posts += posts
                export.skipped += [f"{member}: {reason}" for reason in skipped]
        elif (old := parts.by_name.get(_OLD_MEDIA)) is not None:
            data = parts.load_json(*old)
            try:
                export.posts, export.skipped = posts_from_old_media(data, parts.resolve)
            except ExportError as exc:
                raise ExportError(f"{parts.names[old[0]]}: {old[1]}: {exc}") from None
        else:
            _refuse_without_posts(parts, paths)
    finally:
        parts.close()
    # The same post in two exports (or two parts) is imported once (same key).
    unique = {post.key: post for post in reversed(export.posts)}
    export.posts = sorted(unique.values(), key=lambda post: post.published)
    return export
