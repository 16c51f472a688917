"""Full-text search over posts (`hearth.server.core.search`), kept by the database itself.

The searchable text of a post is its `name`, `content` (the plain `value`, or the `html`
with its tags and entities taken out), `summary` and `category` (strings, and the name of
an embedded h-card), read from the `properties` JSON column.

- SQLite: an FTS5 table `post_search` whose rowid is the post's id, filled by triggers on
  `posts` (insert, update of `properties`, delete), so every change reaches the index
  whatever makes it. The migration fills it for the posts already stored.
- PostgreSQL: an immutable function `hearth_post_search_text(jsonb)` and a GIN index on
  `to_tsvector('simple', hearth_post_search_text(properties))`; queries use the same
  expression, so the index follows the rows with no trigger, and is built from the stored
  rows when it is created.

Nothing here is a Tortoise model: the schema is raw SQL for each dialect, and the models
(and so `makemigrations`) do not know it.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# SQLite: the text of the post in `{row}` (`new`, or `posts` for the initial fill). The HTML
# is stripped without regular expressions: quoted as a JSON string, each "<" becomes a
# string boundary, and each piece after the first loses what precedes its first ">".
_SQLITE_TEXT = """(SELECT
  replace(replace(replace(replace(replace(replace(coalesce(group_concat(part, ' '), ''),
    '&amp;', ' '), '&lt;', ' '), '&gt;', ' '), '&quot;', ' '), '&#39;', ' '), '&nbsp;', ' ')
  FROM (
    SELECT CASE
      WHEN v.type IN ('text', 'integer', 'real') THEN v.value
      WHEN v.type = 'object' AND json_type(v.value, '$.value') = 'text'
        THEN json_extract(v.value, '$.value')
      WHEN v.type = 'object' AND json_type(v.value, '$.html') = 'text' THEN (
        SELECT group_concat(
          CASE WHEN s.key = 0 THEN s.value ELSE substr(s.value, instr(s.value, '>') + 1) END,
          ' ')
        FROM json_each(
          '[' || replace(json_quote(json_extract(v.value, '$.html')), '<', '","') || ']'
        ) AS s)
      WHEN v.type = 'object' THEN json_extract(v.value, '$.properties.name[0]')
    END AS part
    FROM (SELECT 'name' AS k UNION ALL SELECT 'content' UNION ALL SELECT 'summary'
          UNION ALL SELECT 'category') AS keys,
      json_each({row}.properties, '$.' || keys.k) AS v
  ))"""

# Fixed text only (S608 sees the string building, not that nothing comes from outside).
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE post_search USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')",
    "CREATE TRIGGER post_search_insert AFTER INSERT ON posts BEGIN"  # noqa: S608
    " INSERT INTO post_search(rowid, body) VALUES (new.id, "
    + _SQLITE_TEXT.format(row="new")
    + "); END",
    "CREATE TRIGGER post_search_update AFTER UPDATE OF properties ON posts BEGIN"  # noqa: S608
    " DELETE FROM post_search WHERE rowid = old.id;"
    " INSERT INTO post_search(rowid, body) VALUES (new.id, "
    + _SQLITE_TEXT.format(row="new")
    + "); END",
    "CREATE TRIGGER post_search_delete AFTER DELETE ON posts BEGIN"
    " DELETE FROM post_search WHERE rowid = old.id; END",
    "INSERT INTO post_search(rowid, body) SELECT posts.id, "  # noqa: S608
    + _SQLITE_TEXT.format(row="posts")
    + " FROM posts",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS post_search_delete",
    "DROP TRIGGER IF EXISTS post_search_update",
    "DROP TRIGGER IF EXISTS post_search_insert",
    "DROP TABLE IF EXISTS post_search",
]

# PostgreSQL: the same text, punctuation turned into spaces so that the 'simple' parser
# splits words where FTS5's unicode61 tokenizer does (host names, paths and numbers too).
POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION hearth_post_search_text(properties jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT regexp_replace(coalesce(string_agg(part, ' '), ''), '[[:punct:]]+', ' ', 'g')
FROM (
  SELECT CASE jsonb_typeof(v.value)
    WHEN 'string' THEN v.value #>> '{}'
    WHEN 'number' THEN v.value #>> '{}'
    WHEN 'object' THEN coalesce(
      CASE WHEN jsonb_typeof(v.value -> 'value') = 'string' THEN v.value ->> 'value' END,
      CASE WHEN jsonb_typeof(v.value -> 'html') = 'string' THEN regexp_replace(
        regexp_replace(v.value ->> 'html', '<[^>]*>', ' ', 'g'), '&#?[[:alnum:]]+;', ' ', 'g')
      END,
      v.value #>> '{properties,name,0}')
  END AS part
  FROM unnest(ARRAY['name', 'content', 'summary', 'category']) AS keys(k),
    jsonb_array_elements(CASE
      WHEN jsonb_typeof(properties -> keys.k) = 'array' THEN properties -> keys.k
      WHEN properties -> keys.k IS NULL THEN '[]'::jsonb
      ELSE jsonb_build_array(properties -> keys.k)
    END) AS v
) AS parts
$$""",
    "CREATE INDEX posts_search_idx ON posts"
    " USING GIN (to_tsvector('simple'::regconfig, hearth_post_search_text(properties)))",
]

POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS posts_search_idx",
    "DROP FUNCTION IF EXISTS hearth_post_search_text(jsonb)",
]


async def _run(schema_editor: Any, statements: dict[str, list[str]]) -> None:
    # One statement at a time: SQLite's executescript would commit the migration's
    # transaction first.
    client = schema_editor.client
    dialect = client.capabilities.dialect
    if dialect not in statements:
        raise RuntimeError(f"post search supports SQLite and PostgreSQL, not {dialect}")
    for sql in statements[dialect]:
        await client.execute_query(sql)


async def create_search(apps: Any, schema_editor: Any) -> None:
    """The index, its upkeep, and the posts already stored in it."""
    await _run(schema_editor, {"sqlite": SQLITE_FORWARD, "postgres": POSTGRES_FORWARD})


async def drop_search(apps: Any, schema_editor: Any) -> None:
    """Everything `create_search` made."""
    await _run(schema_editor, {"sqlite": SQLITE_BACKWARD, "postgres": POSTGRES_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("models", "0009_post_audience")]

    initial = False

    operations = [
        ops.RunPython(create_search, drop_search, atomic=True),
    ]
