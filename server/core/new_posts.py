"""A new post's rows as a `core.one_trip` unit: path, short code, the post, its category
and audience rows, in one trip to the database.

`posts.create_post` runs it (alone, or inside the caller's transaction as a savepoint), and
a caller with more to store in the same transaction (the Micropub create: its receipt and
its follow-up job) runs it inside a unit of its own with `yield from`. Either way every
post gets its path, code and rows the same way.

- The short code is the post type's letter, the days since 1970 of `published` (three
  newbase60 digits) and the post's ordinal that day, in newbase60
  (http://tantek.pbworks.com/w/page/19402946/NewBase60): one more than the day's highest.
- The path is `YYYY/MM/slug`, `-2`, `-3` ... appended while it is taken by a post or a
  former path (`PathRedirect`); a post without words for a slug takes its short code.
- Two creates racing for the same path or code: the INSERT does nothing on a conflict, and
  the loser takes the next ordinal (and the next free path).
- Finding the day's highest ordinal reads every short code of that day, which a busy day (an
  import, a client posting in bulk: issue #14 measured 0.16 ms a create after 12,000 in a
  day) makes the create's costliest statement. So each database connection remembers the
  last ordinal it gave each day (`ordinals()`) and reads the day's codes only the first
  time, or when the code it expected is taken (another process created posts that day). A
  create rolled back after it took an ordinal leaves a gap in the day's ordinals: codes stay
  unique, and the highest (not the count) is what the next one follows.

Tortoise's model signals do not fire for these rows: `posts.create_post` records the page
change itself.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from hearth.server.core import newbase60, one_trip, post_types
from hearth.server.core.audience import audience_urls
from hearth.server.core.models import Post
from hearth.server.core.publication import Status, Visibility

__all__ = ["EPOCH", "NewPost", "Ordinals", "category_names", "insert", "ordinals"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RACE_ATTEMPTS = 20
# A category longer than its row's column (`PostCategory.name`) gets no tag page: the post
# keeps it, on both stores alike (PostgreSQL would refuse the row, SQLite keep it).
MAX_CATEGORY = 255


@dataclass(frozen=True)
class NewPost:
    """A post to store, its properties storable (`posts.storable`) and `published` in UTC."""

    properties: dict[str, list[Any]]
    h_type: str
    post_type: str
    slug: str  # the slugified slug or words, "" for none
    published: datetime
    status: Status
    visibility: Visibility
    syndicate_to: list[str] | None
    client_id: str | None


def category_names(properties: Mapping[str, list[Any]]) -> set[str]:
    """The plain-string categories of a post, lower-cased.

    Person tags (h-card objects, or URLs) are not topics, so they get no tag page.
    """
    return {
        c.strip().lower()
        for c in properties.get("category", [])
        if isinstance(c, str)
        and 0 < len(c.strip()) <= MAX_CATEGORY
        and not c.startswith(("http://", "https://"))
    }


def _last_of_day(stem: str, dialect: str) -> one_trip.Statement:
    """The day's highest code: the longest, then the last in byte order (newbase60's digits
    are in ASCII order, so among codes of one length that is the highest ordinal)."""
    if dialect == "sqlite":
        # A prefix as a range of the unique index (0.003 ms at 100,000 posts, where LIKE
        # reads every post): under SQLite's bytewise collation every newbase60 character
        # sorts below "~".
        return (
            "SELECT short_code FROM posts WHERE short_code >= ? AND short_code < ?"
            " ORDER BY length(short_code) DESC, short_code DESC LIMIT 1",
            (stem, stem + "~"),
        )
    # PostgreSQL's collation may not sort bytewise ("C" does): a prefix match, "_" (a
    # newbase60 digit, LIKE's any-character) escaped.
    pattern = stem.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
    return (
        "SELECT short_code FROM posts WHERE short_code LIKE ? ESCAPE '\\'"
        ' ORDER BY length(short_code) DESC, short_code COLLATE "C" DESC LIMIT 1',
        (pattern,),
    )


def _highest_ordinal(stem: str, dialect: str) -> one_trip.Unit[int]:
    rows = yield _last_of_day(stem, dialect)
    return newbase60.decode(str(rows[0]["short_code"])[len(stem) :]) if rows else 0


# The last ordinal given, by short-code stem (type letter and day).
Ordinals = dict[str, int]
_ordinals: weakref.WeakKeyDictionary[BaseDBAsyncClient, Ordinals] = weakref.WeakKeyDictionary()
MAX_REMEMBERED = 512


def ordinals() -> Ordinals:
    """The ordinals remembered for the current database connection (see the docstring)."""
    client: BaseDBAsyncClient = connections.get(one_trip.CONNECTION)
    remembered = _ordinals.get(client)
    if remembered is None or len(remembered) > MAX_REMEMBERED:
        remembered = _ordinals[client] = {}
    return remembered


def _free_path(prefix: str, slug: str) -> one_trip.Unit[str]:
    candidate, n = f"{prefix}/{slug}", 1
    taken = (
        "SELECT (SELECT COUNT(*) FROM posts WHERE path = ?)"
        " + (SELECT COUNT(*) FROM path_redirects WHERE path = ?) AS n"
    )
    while True:
        (row,) = yield taken, (candidate, candidate)
        if not row["n"]:
            return candidate
        n += 1
        candidate = f"{prefix}/{slug}-{n}"


def _db(name: str, value: Any) -> Any:
    """`value` as Tortoise stores the Post field `name` (JSON as text, enums as values)."""
    return Post._meta.fields_map[name].to_db_value(value, Post)


_COLUMNS = (
    "path", "short_code", "h_type", "properties", "post_type", "published", "status",
    "visibility", "syndicate_to", "client_id", "created_at", "modified_at",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO posts ({', '.join(_COLUMNS)})"  # noqa: S608 - our own column names
    f" VALUES ({', '.join('?' for _ in _COLUMNS)})"
    " ON CONFLICT DO NOTHING RETURNING *"
)


def insert(
    new: NewPost, now: datetime, dialect: str, remembered: Ordinals | None = None
) -> one_trip.Unit[Post]:
    """The unit: store `new` with a free path and short code; the stored post.

    `remembered` (`ordinals()`, taken on the event loop: the unit may run on the database's
    thread) spares the count of the day's posts; it is updated as codes are given.
    """
    days = (new.published - EPOCH).days
    stem = post_types.SHORT_LETTERS[new.post_type] + newbase60.encode(days, 3)
    last = remembered.get(stem) if remembered is not None else None
    read = last is None
    if last is None:
        last = yield from _highest_ordinal(stem, dialect)
    ordinal = last + 1
    prefix = f"{new.published:%Y/%m}"
    for _ in range(RACE_ATTEMPTS):
        code = stem + newbase60.encode(ordinal)
        path = yield from _free_path(prefix, new.slug or code)
        values = (
            path, code, new.h_type, _db("properties", new.properties), new.post_type,
            new.published, new.status.value, new.visibility.value,
            _db("syndicate_to", new.syndicate_to), new.client_id, now, now,
        )  # fmt: skip
        rows = yield _INSERT, values
        if rows:
            break
        if not read:  # another process gave codes that day: read them after all
            ordinal, read = max(ordinal, (yield from _highest_ordinal(stem, dialect))), True
        ordinal += 1  # taken by a create that committed meanwhile: the next one
    else:
        raise RuntimeError("could not allocate a unique path and short code")
    if remembered is not None:
        remembered[stem] = max(ordinal, remembered.get(stem, 0))
    post: Post = Post._init_from_db(**rows[0])
    for name in sorted(category_names(new.properties)):
        yield "INSERT INTO post_categories (name, post_id) VALUES (?, ?)", (name, post.id)
    for url in sorted(audience_urls(new.properties)):
        yield "INSERT INTO post_audience (url, post_id) VALUES (?, ?)", (url, post.id)
    return post
