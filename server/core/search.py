"""Full-text search over posts: SQLite FTS5 or PostgreSQL text search behind one filter.

`matching(text)` is a Tortoise filter (a `Q`) for the posts whose searchable text (name,
content, summary and tags; see migration 0010_post_search) holds every word of `text`, the
last word also as the start of a longer one ("photo" finds "photographs"). It narrows any
post query, so search combines with other filters, ordering and keyset paging:

    Post.filter(matching("sunset beach"), status=Status.PUBLISHED).order_by("-published")

The index follows every change to a post by itself (SQLite triggers, a PostgreSQL
expression index), so callers do nothing to keep it. Words are what is left of the text
once everything but letters and digits is dropped, and they reach the database only as one
bound parameter, in a query built of them alone: quotes, `NEAR(`, `*`, `-`, `OR` and the
like are never query syntax. Text with no word in it matches no post.

Both backends ignore case; SQLite also ignores accents (`cafe` finds `café`), PostgreSQL
(with its 'simple' configuration, which needs no extension) does not.
"""

from __future__ import annotations

import re
import unicodedata

from pypika_tortoise.context import SqlContext
from pypika_tortoise.enums import Dialects
from pypika_tortoise.terms import Criterion, Field, ValueWrapper
from tortoise.expressions import Q, ResolveContext
from tortoise.query_utils import QueryModifier

__all__ = ["MAX_WORDS", "matching", "search_words"]

# More words than anyone types into a search box; the rest are dropped.
MAX_WORDS = 16
_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> list[str]:
    """The words of `text` as the search uses them: runs of letters and digits."""
    return _WORD.findall(unicodedata.normalize("NFC", text))[:MAX_WORDS]


def fts5_query(words: list[str]) -> str:
    """An FTS5 query of every word as a quoted string token, the last one also a prefix."""
    return " ".join(f'"{word}"' for word in words) + "*"


def tsquery(words: list[str]) -> str:
    """A PostgreSQL tsquery of every word, the last one also a prefix."""
    return " & ".join(words) + ":*"


class _Matches(Criterion):
    """`posts.id` in the FTS5 hits, or the tsvector expression the GIN index is on."""

    def __init__(self, id_field: Field, properties_field: Field, words: list[str]) -> None:
        super().__init__()
        self.id_field = id_field
        self.properties_field = properties_field
        self.words = words

    def get_sql(self, ctx: SqlContext) -> str:
        if not self.words:
            return "1=0"
        if ctx.dialect == Dialects.SQLITE:
            # `query` is a placeholder: the words are bound, never spliced in.
            query = ValueWrapper(fts5_query(self.words)).get_sql(ctx)
            subquery = f"SELECT rowid FROM post_search WHERE post_search MATCH {query}"  # noqa: S608
            return f"{self.id_field.get_sql(ctx)} IN ({subquery})"
        if ctx.dialect == Dialects.POSTGRESQL:
            query = ValueWrapper(tsquery(self.words)).get_sql(ctx)
            properties = self.properties_field.get_sql(ctx)
            return (
                f"to_tsvector('simple'::regconfig, hearth_post_search_text({properties}))"
                f" @@ to_tsquery('simple'::regconfig, {query})"
            )
        raise NotImplementedError(f"post search on {ctx.dialect}")


class _Matching(Q):
    """A `Q` that resolves to `_Matches` on the query's own posts table."""

    def __init__(self, words: list[str]) -> None:
        super().__init__()
        self.words = words

    def __bool__(self) -> bool:
        return True

    def __invert__(self) -> Q:
        raise TypeError("a search cannot be negated")

    def resolve(self, resolve_context: ResolveContext) -> QueryModifier:
        table = resolve_context.table
        criterion = _Matches(Field("id", table=table), Field("properties", table=table), self.words)
        return QueryModifier(where_criterion=criterion)


def matching(text: str) -> Q:
    """A filter for the posts holding every word of `text` (see the module's docstring).

    Only for queries on `Post` (the `posts` table).
    """
    return _Matching(search_words(text))
