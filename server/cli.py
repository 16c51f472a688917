"""The `hearth` command: serve the site, run workers, manage tokens and the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from hearth.server.core.settings import Settings, SettingsError
from hearth.syndication.instagram import command_line as instagram_cli


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from hearth.server.app import create_app

    app = create_app(settings, run_worker=not args.no_worker)
    # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which ends the lifespan and so
    # stops the in-process worker: it takes no new job and finishes or releases its current one.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=args.proxy_headers,
                forwarded_allow_ips=args.forwarded_allow_ips, log_level=args.log_level)  # fmt: skip
    return 0


async def _run_worker(settings: Settings) -> int:
    from hearth.server.core import db
    from hearth.server.core.http import create_http_client
    from hearth.server.core.job_worker import Worker, stop_on_signals
    from hearth.server.wiring import job_handlers, on_worker_start

    stop = asyncio.Event()
    stop_on_signals(stop)
    # No migration here: several workers starting at once must not race to migrate;
    # `hearth migrate` and `hearth serve` do it.
    async with db.connect(settings, run_migrations=False), create_http_client(settings) as http:
        await on_worker_start(settings)
        worker = Worker(settings, job_handlers(), http=http)
        print(f"hearth worker {worker.worker_id} started", flush=True)
        await worker.run(stop)
    print("hearth worker stopped", flush=True)
    return 0


async def _with_db(settings: Settings, action: Callable[[], Awaitable[int]]) -> int:
    from hearth.server.core import db

    async with db.connect(settings):
        return await action()


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    from hearth.server.core import tokens

    async def run() -> int:
        if args.token_action == "create":  # noqa: S105 - a subcommand name
            secret, row = await tokens.mint_token(
                me=settings.url, scope=args.scope, client_id=args.client_id
            )
            print(f"Token {row.prefix}… for {row.me} with scope: {row.scope}")
            # The token alone on the last line, so scripts can take it with `tail -n1`.
            print(secret)
            return 0
        if args.token_action == "list":  # noqa: S105 - a subcommand name
            for row in await tokens.live_tokens():
                used = row.last_used_at.isoformat() if row.last_used_at else "never"
                print(f"{row.prefix}\t{row.scope}\t{row.client_id or '-'}\t"
                      f"created {row.created_at.isoformat()}\tused {used}")  # fmt: skip
            return 0
        if await tokens.revoke_token(args.token):
            print("revoked")
            return 0
        print("no such live token", file=sys.stderr)
        return 1

    return await _with_db(settings, run)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New admin password: ")
        if first != getpass.getpass("Repeat it: "):
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _set_password(settings: Settings) -> int:
    from hearth.server.admin.passwords import set_password

    password = _read_password()

    async def run() -> int:
        await set_password(password)
        print("Admin password set.")
        return 0

    return await _with_db(settings, run)


async def _demo(settings: Settings) -> int:
    from hearth.server.core.demo import fill_demo

    async def run() -> int:
        made = await fill_demo(settings)
        print(f"Created {made} demo posts." if made else "The site has posts already.")
        return 0

    return await _with_db(settings, run)


async def _migrate(settings: Settings) -> int:
    from hearth.server.core import db

    await db.migrate(settings)
    print(f"Database is up to date ({'PostgreSQL' if settings.is_postgres else settings.db_url}).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Hearth: your own IndieWeb site. Configured by HEARTH_* environment "
        "variables (see README).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web site (and a background worker)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--no-worker", action="store_true", help="do not run jobs in this process")
    serve.add_argument("--proxy-headers", action="store_true",
                       help="trust X-Forwarded-* from --forwarded-allow-ips")  # fmt: skip
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.add_argument("--log-level", default="info")

    commands.add_parser("worker", help="run background jobs only (several may run at once)")
    commands.add_parser("migrate", help="apply database migrations (never loses data)")
    commands.add_parser("set-password", help="set the admin password (prompt or stdin)")
    commands.add_parser("demo", help="fill an empty site with a few demo posts")

    token = commands.add_parser("token", help="create, list and revoke bearer tokens")
    token_actions = token.add_subparsers(dest="token_action", required=True, metavar="ACTION")
    create = token_actions.add_parser("create", help="mint a token; prints it on the last line")
    create.add_argument("--scope", default="create update delete undelete media",
                        help='space-separated scopes (default "create update delete undelete '
                        'media")')  # fmt: skip
    create.add_argument("--client-id", default=None, help="the client this token is for")
    token_actions.add_parser("list", help="list live tokens (prefix, scope, client)")
    revoke = token_actions.add_parser("revoke", help="revoke a token (or its listed prefix)")
    revoke.add_argument("token")

    instagram_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "serve":
            return _cmd_serve(settings, args)
        runners: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
            "worker": lambda: _run_worker(settings),
            "migrate": lambda: _migrate(settings),
            "set-password": lambda: _set_password(settings),
            "demo": lambda: _demo(settings),
            "token": lambda: _token(settings, args),
            "instagram": lambda: _with_db(settings, lambda: instagram_cli.run(settings, args)),
        }
        return asyncio.run(runners[args.command]())
    except ValueError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
