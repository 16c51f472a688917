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
* The posts files are read a post at a time (`json_stream`), never whole: `open_export`
  gives the posts one by one, in file order, so reading an export of any size takes the
  memory of one post (the 2018-2020 `media.json`, small and grouped across the file, is
  read whole). `read_export` collects them all, for callers that want the list.
* Hostile zips: members are only ever read by name through `ZipFile`, never extracted, so
  names with `..` or absolute paths cannot reach the file system. A member's declared size is
  checked before reading and it is read with a limit anyway (the declared size can lie);
  JSON is capped per file and in total, and so is the number of members.
"""

from __future__ import annotations

import lzma
import re
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from hearth.syndication.instagram.export_json import (
    ExportError,
    ExportPost,
    Located,
    fix_all,
    posts_from_old_media,
    read_post,
)
from hearth.syndication.instagram.json_stream import Lone, array_items

__all__ = [
    "Export",
    "ExportError",
    "ExportPost",
    "ExportReader",
    "open_export",
    "read_export",
    "read_member",
]

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
# What reading a damaged member raises: zipfile's own errors, and its decompressors' (a
# corrupt deflate or LZMA stream, one cut short).
_READ_ERRORS = (
    zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError, zlib.error,
    lzma.LZMAError,
)  # fmt: skip
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

    def json_items(self, part: int, member: str) -> Iterator[Any]:
        """The elements of the JSON array in `member`, mojibake fixed, one at a time; or
        `Lone(value)` for a file that is not an array (`json_stream.array_items`)."""
        where = f"{self.names[part]}: {member}"
        with _open_member(self.zips[part], member, MAX_JSON_BYTES, where) as stream:
            capped = _Capped(stream, self, where)
            try:
                for item in array_items(capped):
                    yield Lone(fix_all(item.value)) if isinstance(item, Lone) else fix_all(item)
            except (ValueError, RecursionError) as exc:
                raise ExportError(f"{where} is not valid JSON ({exc})") from None


class _Capped:
    """A posts file's stream, read within the caps: its own size, and all posts files'."""

    def __init__(self, stream: IO[bytes], parts: _Parts, where: str) -> None:
        self._stream = stream
        self._parts = parts
        self._where = where
        self._left = MAX_JSON_BYTES

    def read(self, size: int = -1, /) -> bytes:
        size = self._left + 1 if size < 0 else min(size, self._left + 1)
        try:
            data = self._stream.read(size)
        except _READ_ERRORS as exc:
            raise ExportError(f"{self._where} cannot be read ({exc})") from None
        self._left -= len(data)
        self._parts.json_budget -= len(data)
        if self._left < 0:
            raise ExportError(f"{self._where} is larger than {MAX_JSON_BYTES} bytes")
        if self._parts.json_budget < 0:
            raise ExportError(f"the posts files are larger than {MAX_TOTAL_JSON_BYTES} bytes")
        return data


def _open(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ExportError(f"{path}: no such file") from None
    except (*_READ_ERRORS, UnicodeDecodeError) as exc:
        # NotImplementedError: a zip of a version zipfile does not read; UnicodeDecodeError:
        # a member name flagged as UTF-8 that is not.
        raise ExportError(f"{path.name} is not a zip file ({exc})") from None


@contextmanager
def _open_member(
    archive: zipfile.ZipFile, member: str, limit: int, where: str
) -> Iterator[IO[bytes]]:
    """`member` open for reading, once its declared size is found within `limit`."""
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ExportError(f"{where}: not in the zip") from None
    if info.file_size > limit:
        raise ExportError(f"{where} is larger than {limit} bytes")
    try:
        stream = archive.open(info)
    except _READ_ERRORS as exc:
        raise ExportError(f"{where} cannot be read ({exc})") from None
    with stream:
        yield stream


def _read(archive: zipfile.ZipFile, member: str, limit: int, where: str) -> bytes:
    with _open_member(archive, member, limit, where) as stream:
        try:
            data = stream.read(limit + 1)
        except _READ_ERRORS as exc:
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


class ExportReader:
    """The export in the zip(s) at `paths` (its parts, in any order), open for reading.

    Raises ExportError, with a message for the owner, for a zip that is not an Instagram
    JSON export with posts, or an unreadable zip. Close it (or use `open_export`).
    """

    def __init__(self, paths: Sequence[Path]) -> None:
        if not paths:
            raise ExportError("no zip file given")
        self._parts = _Parts(paths)
        try:
            self._files = _posts_files(self._parts)
            self._old = None if self._files else self._parts.by_name.get(_OLD_MEDIA)
            if not self._files and self._old is None:
                _refuse_without_posts(self._parts, paths)
        except BaseException:
            self._parts.close()
            raise

    def close(self) -> None:
        self._parts.close()

    def posts(self, skipped: Callable[[str], None] = lambda reason: None) -> Iterator[ExportPost]:
        """Every post, one at a time, in the order of the files; `skipped` is told why each
        entry that is no post was left out. Raises ExportError for a posts file that is not
        valid JSON, when reading reaches the fault (the posts before it have been given).

        The same post in two parts (or two exports) comes each time it is met: its key tells.
        """
        if self._old is not None:
            yield from self._old_posts(*self._old, skipped)
            return
        for part, member in self._files:
            yield from self._file_posts(part, member, skipped)

    def _file_posts(
        self, part: int, member: str, skipped: Callable[[str], None]
    ) -> Iterator[ExportPost]:
        for index, item in enumerate(self._parts.json_items(part, member)):
            if isinstance(item, Lone):  # a file holding one post as an object
                if not isinstance(item.value, dict):
                    raise ExportError(f"{self._parts.names[part]}: {member}: expected a list "
                                      "of posts")  # fmt: skip
                item = item.value
            post = read_post(item, self._parts.resolve)
            if isinstance(post, str):
                skipped(f"{member}: post {index + 1}: {post}")
            else:
                yield post

    def _old_posts(
        self, part: int, member: str, skipped: Callable[[str], None]
    ) -> Iterator[ExportPost]:
        # Grouped across the whole file (a carousel is one entry per file): read whole.
        items = list(self._parts.json_items(part, member))
        lone = len(items) == 1 and isinstance(items[0], Lone)
        data = items[0].value if lone else items  # an array is refused just below
        try:
            posts, reasons = posts_from_old_media(data, self._parts.resolve)
        except ExportError as exc:
            raise ExportError(f"{self._parts.names[part]}: {member}: {exc}") from None
        for reason in reasons:
            skipped(f"{member}: {reason}")
        yield from posts


@contextmanager
def open_export(paths: Sequence[Path]) -> Iterator[ExportReader]:
    """`ExportReader(paths)`, closed at the end of the block."""
    reader = ExportReader(paths)
    try:
        yield reader
    finally:
        reader.close()


def read_export(paths: Sequence[Path]) -> Export:
    """Every post of the export in the zip(s) at `paths` (its parts, in any order), each
    once, oldest first: the whole list in memory (the import streams with `open_export`).

    Raises ExportError, with a message for the owner, for a zip that is not an Instagram
    JSON export with posts, an unreadable zip, or a posts file that is not valid JSON.
    """
    export = Export()
    with open_export(paths) as reader:
        export.posts = list(reader.posts(export.skipped.append))
    # The same post in two exports (or two parts) is imported once (same key).
    unique = {post.key: post for post in reversed(export.posts)}
    export.posts = sorted(unique.values(), key=lambda post: post.published)
    return export
