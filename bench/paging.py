"""Benchmark: keyset paging of the h-feed against OFFSET paging, in the same run.

Run: `python bench/paging.py [--posts 20000] [--repeat 50]`

Fills a throwaway SQLite database, then times fetching one page deep in the feed both ways
and prints the ratio. Keyset cost stays flat with depth; OFFSET cost grows with it, which is
why the home page and tag pages page by cursor.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hearth import wiring
from hearth.server.core import db
from hearth.server.core.models import Post
from hearth.server.core.posts import encode_cursor, page_of, public_posts
from hearth.server.core.settings import Settings


async def fill(count: int) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    rows = [
        Post(
            path=f"bench/{n}",
            short_code=f"t{n}",
            properties={"content": [f"Benchmark note {n}"]},
            published=start + timedelta(minutes=n),
        )
        for n in range(count)
    ]
    await Post.bulk_create(rows, batch_size=1000)


async def timed(action: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        await action()  # type: ignore[operator]
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


async def main(posts: int, repeat: int, page_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        async with db.connect(settings):
            await fill(posts)
            depth = posts - page_size * 2  # a page near the end of the feed
            ordered = public_posts().order_by("-published", "-id")
            anchor = await ordered.offset(depth - 1).first()
            assert anchor is not None
            cursor = encode_cursor(anchor)

            async def keyset() -> None:
                await page_of(public_posts(), limit=page_size, before=cursor)

            async def offset() -> None:
                await ordered.offset(depth).limit(page_size + 1)

            keyset_s = await timed(keyset, repeat)
            offset_s = await timed(offset, repeat)
    print(f"posts={posts} depth={depth} page_size={page_size} repeat={repeat}")
    print(f"keyset page: {keyset_s * 1000:.2f} ms (median)")
    print(f"OFFSET page: {offset_s * 1000:.2f} ms (median, baseline)")
    print(f"OFFSET / keyset = {offset_s / keyset_s:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=20)
    args = parser.parse_args()
    wiring.install(wiring.features())  # the features' tables and post-change listeners
    asyncio.run(main(args.posts, args.repeat, args.page_size))
