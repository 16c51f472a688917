"""`hearth instagram ...`: connect, poll, import the data export, comment on history.

The Instagram silo offers them as a `Command` (`hearth.syndication.instagram.silo`): the
`hearth` command adds them with `configure` and runs them with `run` inside an open database.
The long ones (keeping the export's zips, queueing comments on years of posts) show their
progress on stderr (`hearth.server.core.progress`): a bar on a terminal, lines otherwise.
"""

from __future__ import annotations

import argparse
import functools
import sys
from datetime import timedelta
from pathlib import Path

from hearth.server.core import job_queue
from hearth.server.core.http import create_http_client
from hearth.server.core.progress import progress
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account, connection, poll
from hearth.syndication.instagram.api_errors import InstagramError
from hearth.syndication.instagram.export_zip import ExportError
from hearth.syndication.instagram.history import queue_import
from hearth.syndication.instagram.history_comments import comment_history


def configure(instagram: argparse.ArgumentParser) -> None:
    """Add the `hearth instagram` actions to its parser."""
    actions = instagram.add_subparsers(dest="instagram_action", required=True, metavar="ACTION")
    connect = actions.add_parser("connect", help="store the account of a long-lived token")
    connect.add_argument("--access-token", required=True, help="a long-lived Instagram token")
    actions.add_parser("poll", help="copy new Instagram posts home now")
    import_zip = actions.add_parser(
        "import-zip", help="import your history from the data-export zip(s), in JSON"
    )
    import_zip.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                            help="the zip file(s) of one export")  # fmt: skip
    history = actions.add_parser(
        "comment-history",
        help="post the short-link comment on copies made before the account was connected",
    )
    history.add_argument("--spacing", type=float, default=60.0, metavar="SECONDS",
                         help="seconds between two comments (default 60)")  # fmt: skip


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the `instagram` action in `args`; the exit status."""
    if args.instagram_action == "import-zip":
        return await _import_zip(settings, args.paths)
    if args.instagram_action == "comment-history":
        return await _comment_history(settings, args.spacing)
    return await _with_api(settings, args)


async def _with_api(settings: Settings, args: argparse.Namespace) -> int:
    async with create_http_client(settings) as http:
        try:
            if args.instagram_action == "connect":
                row = await connection.connect(settings, http, args.access_token)
                print(f"Connected Instagram account @{row.username} (id {row.user_id}).")
                return 0
            result = await poll.poll_once(settings, http)
        except (InstagramError, job_queue.Retry, job_queue.PermanentFailure) as exc:
            print(f"hearth: instagram: {exc}", file=sys.stderr)
            return 1
    if await account.current_account() is None:
        print("No Instagram account is connected.", file=sys.stderr)
        return 1
    print(f"Copied {result.copied} posts from Instagram "
          f"({result.updated} updated, {result.failed} failed).")  # fmt: skip
    return 0


async def _import_zip(settings: Settings, paths: list[Path]) -> int:
    try:
        kept = functools.partial(progress, description="kept", unit="of the zip files", sizes=True)
        queued = await queue_import(settings, paths, progress=kept)
    except ExportError as exc:
        print(f"hearth: instagram: {exc}", file=sys.stderr)
        return 1
    if not queued.new:
        print(f"These zip files were queued for import before (job {queued.job.id}, "
              f"{queued.job.state.value}): nothing new queued.")  # fmt: skip
        return 0
    print(f"Queued the import of {queued.posts} posts from {len(paths)} zip file(s) "
          f"(job {queued.job.id}); the worker imports them.")  # fmt: skip
    return 0


async def _comment_history(settings: Settings, spacing: float) -> int:
    if await account.current_account() is None:
        print("No Instagram account is connected.", file=sys.stderr)
        return 1
    if spacing < 0:
        print("hearth: instagram: --spacing must not be negative", file=sys.stderr)
        return 2
    steps = functools.partial(progress, description="queued", unit="first comments")
    queued = await comment_history(settings, spacing=timedelta(seconds=spacing), progress=steps)
    print(f"Queued the short-link comment on {queued} Instagram posts copied before the "
          f"account was connected, one every {spacing:g} s; the worker posts them.")  # fmt: skip
    return 0
