"""The `hearth` command: serve the site, run workers, manage tokens and the database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any

import uvicorn

from hearth import wiring
from hearth.app import create_app
from hearth.server.admin.passwords import set_password
from hearth.server.core import db, page_changes, page_generations, tokens
from hearth.server.core.demo import fill_demo
from hearth.server.core.features import Command, Feature, add_commands
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker, stop_on_signals
from hearth.server.core.settings import Settings, SettingsError


def _cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    app = create_app(settings, run_worker=not args.no_worker)
    # uvicorn turns SIGINT/SIGTERM into a graceful shutdown, which ends the lifespan and so
    # stops the in-process worker: it takes no new job and finishes or releases its current one.
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=args.proxy_headers,
                forwarded_allow_ips=args.forwarded_allow_ips, log_level=args.log_level)  # fmt: skip
    return 0


async def _run_worker(settings: Settings, features: Sequence[Feature]) -> int:
    stop = asyncio.Event()
    stop_on_signals(stop)
    # No migration here: several workers starting at once must not race to migrate;
    # `hearth migrate` and `hearth serve` do it.
    async with db.connect(settings, run_migrations=False), create_http_client(settings) as http:
        await wiring.on_worker_start(settings, features)
        worker = Worker(settings, wiring.job_handlers(features), http=http)
        print(f"hearth worker {worker.worker_id} started", flush=True)
        await worker.run(stop)
    print("hearth worker stopped", flush=True)
    return 0


async def _with_db(settings: Settings, action: Callable[[], Awaitable[int]]) -> int:
    async with db.connect(settings):
        return await action()


async def _token(settings: Settings, args: argparse.Namespace) -> int:
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
    password = _read_password()

    async def run() -> int:
        await set_password(password)
        print("Admin password set.")
        return 0

    return await _with_db(settings, run)


async def _demo(settings: Settings) -> int:
    async def run() -> int:
        made = await fill_demo(settings)
        print(f"Created {made} demo posts." if made else "The site has posts already.")
        return 0

    return await _with_db(settings, run)


async def _migrate(settings: Settings) -> int:
    await db.migrate(settings)
    print(f"Database is up to date ({'PostgreSQL' if settings.is_postgres else settings.db_url}).")
    return 0


async def _feature_command(settings: Settings, command: Command, args: argparse.Namespace) -> int:
    if not command.needs_database:
        return await command.run(settings, args)
    return await _with_db(settings, lambda: command.run(settings, args))


def build_parser(features: Sequence[Feature] | None = None) -> argparse.ArgumentParser:
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

    add_commands(commands, wiring.commands(wiring.features() if features is None else features))
    return parser


async def _one_unit(settings: Settings, work: Coroutine[Any, Any, int]) -> int:
    """A command is one unit of work: the public changes it made are bumped when it ends,
    after its commits, so `hearth serve`'s cached pages show them (core.page_changes)."""
    with page_changes.unit(page_generations.install(settings.data_dir)):
        return await work


def main(argv: Sequence[str] | None = None, features: Sequence[Feature] | None = None) -> int:
    chosen = tuple(wiring.features() if features is None else features)
    args = build_parser(chosen).parse_args(argv)
    try:
        settings = Settings.from_env(sections=wiring.settings_sections(chosen))
    except SettingsError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    # The features this process runs: their tables, and who hears of post changes.
    wiring.install(chosen)
    try:
        if args.command == "serve":
            return _cmd_serve(settings, args)
        runners: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
            "worker": lambda: _run_worker(settings, chosen),
            "migrate": lambda: _migrate(settings),
            "set-password": lambda: _set_password(settings),
            "demo": lambda: _demo(settings),
            "token": lambda: _token(settings, args),
        }
        for command in wiring.commands(chosen):
            runners[command.name] = partial(_feature_command, settings, command, args)
        return asyncio.run(_one_unit(settings, runners[args.command]()))
    except ValueError as exc:
        print(f"hearth: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
