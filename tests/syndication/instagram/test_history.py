"""Importing the Instagram history from the export zip (syndication/instagram/history.py).

A realistic export zip (a photo with GPS in its EXIF, a carousel with a video, captions with
#tags, @mentions and Meta's mojibake) goes through `hearth instagram import-zip`'s queueing
and the real worker, and the posts are read back from the real site as microformats.
Outbound HTTP (webmentions to the caption's instagram.com links) reaches a MockTransport.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mf2py
import pytest
from PIL import Image
from rich.filesize import decimal
from starlette.applications import Starlette

from hearth.server.core.job_worker import JobContext
from hearth.server.core.models import Job, JobState, Media, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import history
from hearth.syndication.instagram.tables import InstagramImport, InstagramMedia
from tests.serving import ROOT, hearth_cli, hearth_env
from tests.syndication.instagram.export_setup import (
    CAROUSEL_TIME,
    PHOTO_TIME,
    export_zip,
    run_worker,
)


async def run_import_jobs(settings: Settings, count: int) -> None:
    """Run `count` import jobs (and nothing else) through the real worker's handlers."""
    imports = Job.filter(kind__startswith="instagram.import", state=JobState.QUEUED)
    for _ in range(count):
        job = await imports.order_by("id").first()
        assert job is not None
        # Everything else waits, so the worker's next claim is this job.
        await (
            Job.filter(state=JobState.QUEUED)
            .exclude(id=job.id)
            .update(run_at=datetime(2999, 1, 1, tzinfo=UTC))
        )
        assert 1 == await run_worker(settings, limit=1)
        await Job.filter(state=JobState.QUEUED).update(run_at=datetime.now(UTC))


async def entries(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The h-entries of the home page, each with the properties of its permalink page."""
    home = await client.get("/")
    feed = mf2py.parse(doc=home.text, url=str(home.url))
    urls = [e["properties"]["url"][0] for e in _h_entries(feed["items"])]
    pages = []
    for url in urls:
        page = await client.get(url)
        assert 200 == page.status_code
        pages.append(mf2py.parse(doc=page.text, url=url)["items"][0]["properties"])
    return pages


def _h_entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for mf in items:
        if "h-entry" in mf["type"]:
            found.append(mf)
        found += _h_entries(mf.get("children", []))
    return found


def published(properties: dict[str, Any]) -> datetime:
    [value] = properties["published"]
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


async def served(client: httpx.AsyncClient, url: str) -> httpx.Response:
    assert url.startswith("https://example.test/media/"), url
    response = await client.get(url)
    assert 200 == response.status_code
    return response


async def test_export_becomes_posts_on_the_site(
    settings: Settings, app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Both posts show on the home page with time, caption, tags and files served locally."""
    queued = await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    assert (True, 2) == (queued.new, queued.posts)
    await run_worker(settings)
    carousel, photo = await entries(client)
    assert datetime.fromtimestamp(CAROUSEL_TIME, UTC) == published(carousel)
    assert "Weekend trip 🌱\n#travel #Family" == carousel["content"][0]["value"]
    assert {"travel", "Family"} <= set(carousel["category"])
    slide, video = carousel["photo"][0], carousel["video"][0]
    assert "image/webp" == (await served(client, slide)).headers["content-type"]
    assert "video/mp4" == (await served(client, video)).headers["content-type"]
    assert "syndication" not in carousel
    assert datetime.fromtimestamp(PHOTO_TIME, UTC) == published(photo)
    assert "Sunrise at the lake 😍 #sunrise with @ann.b" == photo["content"][0]["value"]
    html = photo["content"][0]["html"]
    assert 'href="https://www.instagram.com/ann.b/"' in html
    assert "sunrise" in photo["category"]


async def test_imported_photo_has_no_gps(
    settings: Settings, app: Starlette, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Photos go through the uploads' cleaning: the camera's EXIF and GPS are gone."""
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_worker(settings)
    post = await Post.get(published=datetime.fromtimestamp(PHOTO_TIME, UTC))
    body = (await served(client, post.properties["photo"][0])).content
    exif = Image.open(io.BytesIO(body)).getexif()
    assert 0x8825 not in exif and 0x010F not in exif


async def test_import_announces_posts_through_jobs(
    settings: Settings, app: Starlette, tmp_path: Path
) -> None:
    """New posts are announced like any other (WebSub pings queued, not sent inline), but
    their Instagram tag and person links get no webmention (Instagram has no endpoint)."""
    settings = dataclasses.replace(settings, websub_hub="https://hub.example/")
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_import_jobs(settings, 2)  # the import job, then its chunk
    pings = await Job.filter(kind="websub.publish")
    assert pings and {JobState.QUEUED} == {job.state for job in pings}
    assert 0 == await Job.filter(kind="webmention.send").count()


async def test_same_zip_twice_queues_nothing_new(
    settings: Settings, app: Starlette, tmp_path: Path
) -> None:
    """The same zip again, even from another path, finds its job: no new job, no new post."""
    first_path = export_zip(tmp_path / "export.zip")
    first = await history.queue_import(settings, [first_path])
    await run_worker(settings)
    copy = shutil.copyfile(first_path, tmp_path / "export copy.zip")
    again = await history.queue_import(settings, [copy])
    assert (False, first.job.id) == (again.new, again.job.id)
    await run_worker(settings)
    assert 2 == await Post.all().count()
    assert 1 == len(list(history.imports_dir(settings).iterdir()))


async def test_every_job_run_again_makes_nothing_new(
    settings: Settings, app: Starlette, tmp_path: Path
) -> None:
    """The import done, then every import job runs again (as if the worker died after each
    side effect but before recording it): no new post, file, marker or chunk."""
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_worker(settings)
    await Job.filter(kind__startswith="instagram.import").update(
        state=JobState.QUEUED, attempts=0, run_at=datetime.now(UTC), finished_at=None
    )
    await run_worker(settings)
    assert 2 == await Post.all().count()
    assert 2 == await InstagramImport.filter(source="imported").count()
    assert 3 == await Media.all().count()
    assert 1 == await Job.filter(kind=history.IMPORT_CHUNK).count()


class Killed(BaseException):
    """Stands for kill -9: no handler catches it, and nothing after it is recorded."""


async def test_kill_mid_chunk_then_rerun_makes_each_post_once(
    settings: Settings, app: Starlette, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies after the chunk's first post; the chunk runs again: the first post is
    skipped (its files not stored again), the second is made, each once."""
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_import_jobs(settings, 1)  # the import job: it queues the chunk
    chunk = await Job.get(kind=history.IMPORT_CHUNK)
    finish = history._import_group

    async def die_after_the_first(*args: Any) -> list[Post]:
        if await Post.all().exists():
            raise Killed
        return await finish(*args)

    monkeypatch.setattr(history, "GROUP_POSTS", 1)  # one post a transaction
    monkeypatch.setattr(history, "_import_group", die_after_the_first)
    with pytest.raises(Killed):
        await history.handle_import_chunk(JobContext(settings, None, chunk), chunk.payload)
    assert 1 == await Post.all().count()
    monkeypatch.undo()
    await run_worker(settings)  # the chunk was never recorded done: it runs again
    assert 2 == await Post.all().count()
    assert 2 == await InstagramImport.filter(source="imported").count()
    first_photo = "449123_n_17900000000000001.jpg"
    assert 1 == await Media.filter(original_name=first_photo).count()


async def test_kill_inside_a_group_leaves_none_of_it_then_rerun_makes_each_once(
    settings: Settings,
    app: Starlette,
    client: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The posts of a group are made in one transaction: the worker dying after the first
    is created but before the commit leaves no post, file row or marker of the group; the
    chunk run again makes every post once, each with its files."""
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_import_jobs(settings, 1)
    chunk = await Job.get(kind=history.IMPORT_CHUNK)
    create = history.create_post
    calls = 0

    async def die_on_the_second(*args: Any, **kwargs: Any) -> Post:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Killed
        return await create(*args, **kwargs)

    monkeypatch.setattr(history, "create_post", die_on_the_second)
    with pytest.raises(Killed):
        await history.handle_import_chunk(JobContext(settings, None, chunk), chunk.payload)
    assert 2 == calls
    assert not await Post.all().exists()
    assert not await Media.all().exists()
    assert not await InstagramImport.all().exists()
    monkeypatch.undo()
    await run_worker(settings)
    posts = await Post.all()
    assert 2 == len(posts) == len({post.published for post in posts})
    assert 2 == await InstagramImport.filter(source="imported").count()
    referenced = {url for post in posts for key in ("photo", "video")
                  for url in post.properties.get(key, [])}  # fmt: skip
    assert len(referenced) == await Media.all().count()
    assert len(referenced) == len(list(settings.media_dir.iterdir()))  # no file left over
    for url in referenced:
        await served(client, url)


async def test_group_that_fails_is_made_post_by_post(
    settings: Settings,
    app: Starlette,
    client: httpx.AsyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group whose transaction fails is rolled back whole and its posts are made one by one:
    each once, with its files served, no file left over and nothing handed over."""

    async def fail(*args: Any, **kwargs: Any) -> Post:
        raise RuntimeError("the database went away for a moment")

    monkeypatch.setattr(history, "create_post", fail)  # the group's, not a post's own
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_worker(settings)
    posts = await Post.all()
    assert 2 == len(posts) == len({post.published for post in posts})
    assert 2 == await InstagramImport.filter(source="imported").count()
    assert not await Job.filter(kind=history.IMPORT_POST).exists()
    referenced = {url for post in posts for key in ("photo", "video")
                  for url in post.properties.get(key, [])}  # fmt: skip
    assert len(referenced) == await Media.all().count()
    assert len(referenced) == len(list(settings.media_dir.iterdir()))
    for url in referenced:
        await served(client, url)


async def test_export_becomes_chunks_of_posts(
    settings: Settings, app: Starlette, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import job queues one job per CHUNK_POSTS posts, not one per post."""
    monkeypatch.setattr(history, "CHUNK_POSTS", 2)
    await history.queue_import(settings, [export_zip(tmp_path / "e.zip", with_heic=True)])
    await run_import_jobs(settings, 1)
    chunks = await Job.filter(kind=history.IMPORT_CHUNK).order_by("id")
    assert [2, 1] == [len(job.payload["posts"]) for job in chunks]
    assert not await Job.filter(kind=history.IMPORT_POST).exists()


async def test_post_copied_through_the_api_is_skipped(
    settings: Settings, app: Starlette, tmp_path: Path
) -> None:
    """A media the API poller copied at the same second is home already: no second post."""
    api_post = await create_post({"content": ["Sunrise at the lake"]})
    when = datetime.fromtimestamp(PHOTO_TIME, UTC)
    await InstagramMedia.create(media_id="1790", post=api_post, timestamp=when, copy_state="copied")
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_worker(settings)
    assert 1 == await Post.filter(client_id=history.CLIENT_ID).count()
    assert not await Post.filter(client_id=history.CLIENT_ID, published=when).exists()
    marker = await InstagramImport.get(source="api")
    assert api_post.id == marker.post_id  # type: ignore[attr-defined]


async def test_undecodable_file_fails_only_its_post(
    settings: Settings, app: Starlette, tmp_path: Path
) -> None:
    """A HEIC photo (not decodable here) fails in its chunk, which hands it to a job of its
    own: that job fails with the reason, the other posts import and the chunk is done."""
    await history.queue_import(settings, [export_zip(tmp_path / "e.zip", with_heic=True)])
    await run_worker(settings)
    assert 2 == await Post.all().count()
    [dead] = await Job.filter(state=JobState.DEAD)
    assert history.IMPORT_POST == dead.kind
    assert "17940060624158613.heic" in (dead.last_error or "")
    assert "HEIC" in (dead.last_error or "")
    assert JobState.DONE == (await Job.get(kind=history.IMPORT)).state
    assert JobState.DONE == (await Job.get(kind=history.IMPORT_CHUNK)).state


async def test_wrong_zip_refused_before_queueing(
    settings: Settings, app: Starlette, tmp_path: Path
) -> None:
    """An HTML export is refused at once with what to do, and nothing is queued or kept."""
    path = tmp_path / "html.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("start_here.html", "<html></html>")
    with pytest.raises(history.ExportError, match="JSON"):
        await history.queue_import(settings, [path])
    assert not await Job.filter(kind=history.IMPORT).exists()
    assert not history.imports_dir(settings).exists()


def test_cli_import_zip(tmp_path: Path) -> None:
    """`hearth instagram import-zip` queues the import once and says so; a bad zip exits 1."""
    env = hearth_env(tmp_path / "data", "http://127.0.0.1:9/")
    path = str(export_zip(tmp_path / "instagram-jane_doe.zip"))
    first = hearth_cli(env, "instagram", "import-zip", path)
    assert "Queued the import of 2 posts from 1 zip file(s)" in first
    again = hearth_cli(env, "instagram", "import-zip", path)
    assert "queued for import before" in again and "nothing new queued" in again
    with sqlite3.connect(tmp_path / "data" / "hearth.sqlite3") as db:
        kinds = [row[0] for row in db.execute("SELECT kind FROM jobs")]
    assert [history.IMPORT] == kinds
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    done = subprocess.run(
        [sys.executable, "-m", "hearth.cli", "instagram", "import-zip", str(bad)],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert 1 == done.returncode
    assert "notes.txt is not a zip file" in done.stderr and "Traceback" not in done.stderr


def test_cli_import_zip_shows_progress(tmp_path: Path) -> None:
    """Not on a terminal, keeping the zips' copies is told in plain lines on stderr, ending
    with the whole size; stdout keeps the result."""
    env = hearth_env(tmp_path / "data", "http://127.0.0.1:9/")
    # The same zip twice: the second copy is kept before, and dropped (no ".part" left).
    paths = [export_zip(tmp_path / "instagram-jane_doe.zip"), tmp_path / "copy.zip"]
    shutil.copyfile(paths[0], paths[1])
    done = subprocess.run(
        [sys.executable, "-m", "hearth.cli", "instagram", "import-zip", *map(str, paths)],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    size = decimal(sum(path.stat().st_size for path in paths))
    assert f"kept {size}/{size} of the zip files" == done.stderr.splitlines()[-1]
    assert "━" not in done.stderr and "\x1b[" not in done.stderr
    assert "Queued the import of 2 posts from 2 zip file(s)" in done.stdout
    assert [] == list(history.imports_dir(Settings(data_dir=tmp_path / "data")).glob("*.part"))
