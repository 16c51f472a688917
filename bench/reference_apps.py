"""The reference apps `bench/throughput.py` measures Hearth against, and its fake source site.

Run one: `python bench/reference_apps.py {hello,insert,source} --port 8001 [--db FILE]
[--target URL]`

- `hello`: bare Starlette, one route (`GET /`) answering a `PlainTextResponse`. The most a
  Starlette app can serve on this machine: the ceiling for Hearth's read endpoints.
- `insert`: Starlette with one SQLite INSERT per request: `POST /notes` reads the
  form-encoded body and inserts a row (its `content`), answering 201 with a `Location`.
  The database is set up as Hearth's (`hearth.server.core.db.SQLITE_PRAGMAS`: WAL,
  `synchronous=NORMAL`, the same busy timeout) and reached with aiosqlite over one
  connection opened at start-up, which is how Hearth's Tortoise engine reaches SQLite
  (aiosqlite, one connection per process, each statement run on its thread). Plain `sqlite3`
  in the handler would be faster, but it would also block the event loop and measure a
  driver Hearth does not use; the ratio should be Hearth's own work, not the driver's.
  Each INSERT is its own transaction (autocommit), so every request pays one commit, as
  every Hearth write does.
- `source`: the fake site webmention sources live on: `GET /r/{n}` is an h-entry replying
  to `--target`, so Hearth's worker verifies each received webmention for real.

Every app runs under `uvicorn.run` with the settings `hearth serve` passes (see
`hearth/cli.py`): the default loop and HTTP implementations (`auto`: uvloop and httptools
when installed, as they are here), `log_level="info"` with the access log on (one line per
request, as `hearth serve` writes), no proxy headers; only the app differs.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from hearth.server.core.db import SQLITE_PRAGMAS

SCHEMA = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, content TEXT NOT NULL)"


def hello_app() -> Starlette:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")

    return Starlette(routes=[Route("/", hello)])


def insert_app(db_path: Path) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # isolation_level=None: autocommit, each INSERT its own transaction and commit.
        async with aiosqlite.connect(db_path, isolation_level=None) as conn:
            for name, value in SQLITE_PRAGMAS.items():
                await conn.execute(f"PRAGMA {name}={value}")
            await conn.execute(SCHEMA)
            app.state.db = conn
            yield

    async def create(request: Request) -> Response:
        form = await request.form()
        content = str(form.get("content", ""))
        conn: aiosqlite.Connection = request.app.state.db
        cursor = await conn.execute("INSERT INTO notes (content) VALUES (?)", (content,))
        return Response(status_code=201, headers={"Location": f"/notes/{cursor.lastrowid}"})

    return Starlette(routes=[Route("/notes", create, methods=["POST"])], lifespan=lifespan)


def source_app(target: str) -> Starlette:
    async def reply(request: Request) -> HTMLResponse:
        n = request.path_params["n"]
        return HTMLResponse(
            '<article class="h-entry"><a class="p-author h-card" href="/">Loader</a>'
            f'<a class="u-in-reply-to" href="{target}">re</a>'
            f'<p class="e-content">Reply {n}</p></article>'
        )

    return Starlette(routes=[Route("/r/{n}", reply)])


def serve(app: Starlette, port: int) -> None:
    """`uvicorn.run` as `hearth serve` calls it (hearth/cli.py), with its defaults."""
    uvicorn.run(app, host="127.0.0.1", port=port, proxy_headers=False,
                forwarded_allow_ips="127.0.0.1", log_level="info")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("app", choices=["hello", "insert", "source"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, help="the insert app's SQLite file")
    parser.add_argument("--target", default="", help="what the source app's replies reply to")
    args = parser.parse_args()
    if args.app == "hello":
        serve(hello_app(), args.port)
    elif args.app == "insert":
        if args.db is None:
            parser.error("insert needs --db")
        serve(insert_app(args.db), args.port)
    else:
        serve(source_app(args.target), args.port)


if __name__ == "__main__":
    main()
