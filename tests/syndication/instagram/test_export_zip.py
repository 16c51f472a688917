"""Reading Instagram data-export zips (syndication/instagram/export_zip.py), golden-style.

Zips are built here, one per era and edge case of the export as other importers have met
it: `content/posts_1.json` from 2021 (https://github.com/pixelfed/pixelfed/pull/2751),
`your_instagram_activity/content/` from late 2023
(https://github.com/pixelfed/pixelfed/issues/4494), `your_instagram_activity/media/` from 2025
(https://github.com/pixelfed/pixelfed/pull/5822) and the 2018-2020 root `media.json`
(https://github.com/sfomuseum/go-sfomuseum-instagram), with real posts quoted there; each
test compares the posts read with the posts a person would expect from that export.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hearth.syndication.instagram import export_zip, json_stream
from hearth.syndication.instagram.export_zip import (
    ExportError,
    open_export,
    read_export,
    read_member,
)

WRAP = "instagram-jane_doe-2025-02-20-AbCdEf/"
CAROUSEL = "A lil flower garden update:\n\nDalia is in full bloom\n\n#daliaflower #hibiscusplant"
# A real caption (https://github.com/pixelfed/pixelfed/issues/4478), as written in the file:
# every UTF-8 byte as its own \u00XX escape.
MOJIBAKE = "T H \u00ce\u00a3  P \u00ce\u009b T H\n\u00e2\u0080\u0094\n#chevrolet #elcamino"


def make_zip(path: Path, files: dict[str, Any]) -> Path:
    """A zip at `path`; str/dict/list values are written as JSON (str as given), bytes as is."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data = content if isinstance(content, bytes | str) else json.dumps(content)
            archive.writestr(name, data)
    return path


def media(uri: str, ts: int, title: str = "", **extra: Any) -> dict[str, Any]:
    return {"uri": uri, "creation_timestamp": ts, "title": title,
            "cross_post_source": {"source_app": "FB"}, **extra}  # fmt: skip


def summary(
    paths: list[Path],
) -> list[tuple[str, str, list[tuple[int | None, str | None, str | None]]]]:
    """Each post as (published, caption, [(part, member, kind)]): what the import will make."""
    return [
        (post.published.isoformat(), post.caption, [(m.part, m.member, m.kind) for m in post.media])
        for post in read_export(paths).posts
    ]


def test_2025_layout_in_wrapper_folder_with_two_posts_files(tmp_path: Path) -> None:
    """your_instagram_activity/media/posts_N.json under a wrapper: a real carousel and more.

    The carousel: https://github.com/marcomaroni-github/instagram-to-bluesky/blob/0c7148f8195839f96560384a1ddcd196a08deab9/transfer/test_images/posts.json
    """
    a = "media/posts/202207/296182505_2306736436140223_1131775985609414029_n_17908919372611575.webp"
    b = "media/posts/202207/295533146_3324225487861619_7021607269857186723_n_17969743933670683.webp"
    carousel = {"media": [media(a, 1658871953), media(b, 1658871953)], "title": CAROUSEL,
                "creation_timestamp": 1658871955}  # fmt: skip
    video = {"media": [media("media/posts/202407/AQN_1.mp4", 1720384529, "Trip",
                             media_metadata={"video_metadata": {"exif_data": []}})]}  # fmt: skip
    zip_path = make_zip(tmp_path / "export.zip", {
        f"{WRAP}your_instagram_activity/media/posts_1.json": [carousel],
        f"{WRAP}your_instagram_activity/media/posts_2.json": [video],
        f"{WRAP}{a}": b"webp1", f"{WRAP}{b}": b"webp2", f"{WRAP}media/posts/202407/AQN_1.mp4": b"v",
    })  # fmt: skip
    assert [
        ("2022-07-26T21:45:55+00:00", CAROUSEL,
         [(0, f"{WRAP}{a}", "photo"), (0, f"{WRAP}{b}", "photo")]),
        ("2024-07-07T20:35:29+00:00", "Trip",
         [(0, f"{WRAP}media/posts/202407/AQN_1.mp4", "video")]),
    ] == summary([zip_path])  # fmt: skip


def test_2024_layout_caption_and_time_in_media(tmp_path: Path) -> None:
    """your_instagram_activity/content/posts_1.json; no post-level title or time.

    As in https://github.com/pixelfed/pixelfed/issues/4494 (a 2024 export of 2022 posts).
    """
    uri = "media/posts/202202/1111_2222_3333_n_4444.jpg"
    post = {"media": [media(uri, 1643716942, "text text text",
                            media_metadata={"photo_metadata": {"exif_data": [{}]}})]}  # fmt: skip
    zip_path = make_zip(tmp_path / "e.zip", {
        "your_instagram_activity/content/posts_1.json": [post], uri: b"jpg",
    })  # fmt: skip
    expected = [("2022-02-01T12:02:22+00:00", "text text text", [(0, uri, "photo")])]
    assert expected == summary([zip_path])


def test_2021_layout_mojibake_caption_fixed(tmp_path: Path) -> None:
    """content/posts_1.json (2021-23) with a real mojibake caption, read as real text."""
    uri = (
        "media/posts/202207/293051609_179175171216349_8259517949837047702_n_17947807811026598.webp"
    )
    post = {"media": [media(uri, 1657665069)], "title": MOJIBAKE, "creation_timestamp": 1657665070}
    raw = json.dumps([post])  # json.dumps escapes the Latin-1 characters as \u00XX, as Meta does
    zip_path = make_zip(tmp_path / "e.zip", {"content/posts_1.json": raw, uri: b"x"})
    [(_, caption, _)] = summary([zip_path])
    assert "T H Σ  P Λ T H\n—\n#chevrolet #elcamino" == caption


def test_old_media_json_groups_carousels_and_skips_stories(tmp_path: Path) -> None:
    """≤2020 media.json: photos/videos only, a carousel grouped by time and caption."""
    data = {
        "photos": [
            {"caption": "Conservators at work", "taken_at": "2019-08-12T18:41:37+00:00",
             "location": "", "path": "photos/201908/7c90.jpg"},
            {"caption": "Conservators at work", "taken_at": "2019-08-12T18:41:37+00:00",
             "location": "", "path": "photos/201908/15b0.jpg"},
            {"caption": "Rainbow #GilbertBaker", "taken_at": "2018-12-31T08:05:13",
             "location": "SFO", "path": "photos/201812/0ebf.jpg"},
        ],
        "videos": [{"caption": "", "taken_at": "2020-01-02T03:04:05+01:00",
                    "path": "videos/202001/aa.mp4"}],
        "stories": [{"caption": "", "taken_at": "2020-01-01T00:00:00", "path": "stories/1.jpg"}],
    }  # fmt: skip
    paths = ["photos/201908/7c90.jpg", "photos/201908/15b0.jpg", "photos/201812/0ebf.jpg"]
    files = {"media.json": data, "videos/202001/aa.mp4": b"v", **dict.fromkeys(paths, b"x")}
    zip_path = make_zip(tmp_path / "jane_20200316.zip", files)
    assert [
        ("2018-12-31T08:05:13+00:00", "Rainbow #GilbertBaker",
         [(0, "photos/201812/0ebf.jpg", "photo")]),
        ("2019-08-12T18:41:37+00:00", "Conservators at work",
         [(0, "photos/201908/7c90.jpg", "photo"), (0, "photos/201908/15b0.jpg", "photo")]),
        ("2020-01-02T02:04:05+00:00", "", [(0, "videos/202001/aa.mp4", "video")]),
    ] == summary([zip_path])  # fmt: skip


def test_lone_post_object_with_lone_media_object(tmp_path: Path) -> None:
    """A posts file holding one post as an object, its media an object too.

    Seen by Pixelfed's importer ("Sometimes the JSON isn't an array, when there's only one
    post") and typed by instagram-to-bluesky (`media: Media[] | Media`).
    """
    post = {"media": media("media/posts/202409/pasta.jpg", 1725373798, "Pasta")}
    zip_path = make_zip(tmp_path / "e.zip", {
        "your_instagram_activity/media/posts_1.json": post, "media/posts/202409/pasta.jpg": b"j",
    })  # fmt: skip
    expected = [
        ("2024-09-03T14:29:58+00:00", "Pasta", [(0, "media/posts/202409/pasta.jpg", "photo")])
    ]
    assert expected == summary([zip_path])


def test_uri_falls_back_to_media_other_then_basename_in_other_part(tmp_path: Path) -> None:
    """A file not at its uri: media/other/<name> first, then the same name in any part."""
    post = {"media": [media("media/posts/202401/a.jpg", 1704067200),
                      media("media/posts/202401/b", 1704067200)], "title": "Two"}  # fmt: skip
    first = make_zip(tmp_path / "part1.zip", {
        "your_instagram_activity/media/posts_1.json": [post], "media/other/a.jpg": b"a",
    })  # fmt: skip
    second = make_zip(tmp_path / "part2.zip", {f"{WRAP}media/posts/202312/b": b"b"})
    [(_, _, files)] = summary([first, second])
    assert [(0, "media/other/a.jpg", "photo"), (1, f"{WRAP}media/posts/202312/b", None)] == files


def test_missing_file_is_kept_as_unresolved(tmp_path: Path) -> None:
    """A uri no part holds is reported as such (the import fails that post only)."""
    post = {"media": [media("media/posts/202401/gone.jpg", 1704067200)], "title": "Gone"}
    zip_path = make_zip(tmp_path / "e.zip", {"content/posts_1.json": [post]})
    [(_, _, files)] = summary([zip_path])
    assert [(None, None, "photo")] == files


def test_same_post_in_two_exports_read_once(tmp_path: Path) -> None:
    """Two exports holding the same post (same first file and time) give it once."""
    post = {"media": [media("media/posts/202401/a.jpg", 1704067200)], "title": "Once"}
    files = {"your_instagram_activity/media/posts_1.json": [post], "media/posts/202401/a.jpg": b"a"}
    older = make_zip(tmp_path / "older.zip", files)
    newer = make_zip(tmp_path / "newer.zip", files)
    assert 1 == len(read_export([older, newer]).posts)


def test_stories_archived_and_deleted_are_not_posts(tmp_path: Path) -> None:
    """Only posts_N.json is read: stories, reels, archived and recently deleted are not."""
    other = [{"media": [media("media/archived_posts/202401/x.jpg", 1704067200, "Hidden")]}]
    zip_path = make_zip(tmp_path / "e.zip", {
        "your_instagram_activity/media/posts_1.json": [
            {"media": [media("media/posts/202401/a.jpg", 1704067300, "Shown")]}],
        "your_instagram_activity/media/archived_posts.json": {"ig_archived_post_media": other},
        "your_instagram_activity/media/recently_deleted_content.json":
            {"ig_recently_deleted_media": other},
        "your_instagram_activity/media/stories.json": {"ig_stories": other[0]["media"]},
        "media/posts/202401/a.jpg": b"a", "media/archived_posts/202401/x.jpg": b"x",
    })  # fmt: skip
    assert ["Shown"] == [post.caption for post in read_export([zip_path]).posts]


def test_subtitles_and_posts_without_time_are_skipped(tmp_path: Path) -> None:
    """A .srt is no media item; a post with no time at all is skipped, with the reason."""
    posts = [
        {"media": [media("media/reels/202501/v.mp4", 1735689600), media("media/reels/v.srt", 0)]},
        {"media": [{"uri": "media/posts/202501/t.jpg", "title": "No time"}]},
    ]
    zip_path = make_zip(tmp_path / "e.zip", {"your_instagram_activity/media/posts_1.json": posts})
    export = read_export([zip_path])
    assert [["media/reels/202501/v.mp4"]] == [[m.uri for m in p.media] for p in export.posts]
    assert ["your_instagram_activity/media/posts_1.json: post 2: no creation_timestamp"] == (
        export.skipped
    )


def test_macos_clutter_is_ignored(tmp_path: Path) -> None:
    """__MACOSX/ and ._* entries (zips re-made on a Mac) are neither posts nor media."""
    post = {"media": [media("media/posts/202401/a.jpg", 1704067200)], "title": "Mac"}
    zip_path = make_zip(tmp_path / "e.zip", {
        "__MACOSX/your_instagram_activity/media/._posts_1.json": b"\x00\x05\x16\x07 binary",
        "your_instagram_activity/media/posts_1.json": [post],
        "__MACOSX/media/posts/202401/._a.jpg": b"junk", "media/posts/202401/a.jpg": b"a",
    })  # fmt: skip
    [(_, _, files)] = summary([zip_path])
    assert [(0, "media/posts/202401/a.jpg", "photo")] == files


def test_key_is_first_file_name_and_time(tmp_path: Path) -> None:
    """The post key hashes the first file's name and the post time, whatever the folder."""
    post = {
        "media": [media("media/posts/202401/a.jpg", 1704067200)],
        "creation_timestamp": 1704067201,
    }
    one = make_zip(tmp_path / "1.zip", {"content/posts_1.json": [post]})
    moved = {**post, "media": [media("media/other/a.jpg", 1704067200)]}
    two = make_zip(tmp_path / "2.zip", {"your_instagram_activity/media/posts_1.json": [moved]})
    [first], [second] = read_export([one]).posts, read_export([two]).posts
    assert first.key == second.key
    assert (1704067201, 1704067200) == first.times


def test_html_export_refused(tmp_path: Path) -> None:
    """An HTML export is refused with what to do: request it again as JSON."""
    zip_path = make_zip(tmp_path / "e.zip", {
        f"{WRAP}start_here.html": "<html></html>",
        f"{WRAP}your_instagram_activity/media/posts_1.html": "<html></html>",
    })  # fmt: skip
    with pytest.raises(ExportError, match="HTML export.*format set to JSON"):
        read_export([zip_path])


def test_zip_without_posts_refused(tmp_path: Path) -> None:
    """A zip with no posts file says what was looked for."""
    zip_path = make_zip(tmp_path / "e.zip", {"your_instagram_activity/likes/liked_posts.json": []})
    with pytest.raises(ExportError, match="no posts found.*posts_1.json"):
        read_export([zip_path])


def test_not_a_zip_refused(tmp_path: Path) -> None:
    """A file that is no zip is named in the error."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff not a zip")
    with pytest.raises(ExportError, match="photo.jpg is not a zip file"):
        read_export([path])


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    """A posts file that is not JSON: the error names the zip and the file."""
    zip_path = make_zip(tmp_path / "e.zip", {"content/posts_1.json": '[{"media": ['})
    with pytest.raises(ExportError, match=r"e\.zip: content/posts_1\.json is not valid JSON"):
        read_export([zip_path])


def test_json_over_the_cap_refused_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip bomb posts file (a few KB packed, more than the cap unpacked) is refused."""
    monkeypatch.setattr(export_zip, "MAX_JSON_BYTES", 100_000)
    bomb = "[" + " " * 1_000_000 + "]"
    zip_path = make_zip(tmp_path / "e.zip", {"content/posts_1.json": bomb})
    assert zip_path.stat().st_size < 10_000
    with pytest.raises(ExportError, match="posts_1.json is larger than 100000 bytes"):
        read_export([zip_path])


def test_member_read_with_a_limit(tmp_path: Path) -> None:
    """A media member over the limit is refused; one within it is read whole."""
    zip_path = make_zip(tmp_path / "e.zip", {"media/posts/1/big.jpg": b"x" * 5000})
    assert b"x" * 5000 == read_member(zip_path, "media/posts/1/big.jpg", 5000)
    with pytest.raises(ExportError, match="big.jpg is larger than 4999 bytes"):
        read_member(zip_path, "media/posts/1/big.jpg", 4999)


def test_dot_dot_member_names_stay_inside_the_zip(tmp_path: Path) -> None:
    """A member named ../x is matched and read by name only: nothing is written anywhere."""
    post = {"media": [media("../../escape.jpg", 1704067200)], "title": "Sly"}
    zip_path = make_zip(
        tmp_path / "e.zip", {"content/posts_1.json": [post], "../../escape.jpg": b"e"}
    )
    before = sorted(tmp_path.parent.parent.iterdir())
    [(_, _, [(part, member, _)])] = summary([zip_path])
    assert (0, "../../escape.jpg") == (part, member)
    assert b"e" == read_member(zip_path, "../../escape.jpg", 10)
    assert before == sorted(tmp_path.parent.parent.iterdir())


def test_posts_come_while_the_posts_file_is_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A posts file of 20,000 posts is never read whole: the first post comes once a chunk
    of it is read, and the rest as they are taken."""
    posts = [{"media": [media(f"media/posts/202401/{n}.jpg", 1704067200 + n, f"Day {n}")]}
             for n in range(20_000)]  # fmt: skip
    zip_path = make_zip(tmp_path / "e.zip", {"your_instagram_activity/media/posts_1.json": posts})
    size = len(json.dumps(posts))
    read: list[int] = []
    unread = zipfile.ZipExtFile.read

    def counted(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        data = unread(self, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counted)
    with open_export([zip_path]) as reader:
        taken: Iterator[object] = reader.posts()
        next(taken)
        assert sum(read) <= json_stream.CHUNK < size / 10
        assert 20_000 - 1 == sum(1 for _ in taken)
    assert size == sum(read)
