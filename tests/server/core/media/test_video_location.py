"""MP4/MOV recording locations taken out in place (hearth.server.core.media.video_location).

Spec: ISO/IEC 14496-12 box structure (https://standards.iso.org/ittf/PubliclyAvailableStandards/);
QuickTime File Format `udta`, `meta`, `keys`, `ilst`; 3GPP TS 26.244 `loci`. The files are
built box by box (`media_data.movies`), with a real sample table whose `stco` points into
`mdat`. The golden files are the same builds with each location box replaced by what
stripping must give: a zero-filled `free` box of the same size. Uploads through the Micropub
media endpoint are tested in tests/micropub/test_media_endpoint_video.py.
"""

from __future__ import annotations

import pytest

from hearth.server.core.media.video_location import (
    BrokenBoxes,
    find_location_boxes,
    strip_location,
)
from tests.server.core.media.media_data.movies import (
    ACCURACY,
    CHUNKS,
    ISO6709,
    LOCATION_KEYS,
    MOOV_TYPE_AT,
    PLACE,
    box,
    drop,
    full_box,
    item,
    keys,
    large_box,
    movie,
    neutralised,
    u32,
    xyz,
)


def path_of(data: bytes, *path: bytes) -> tuple[int, int]:
    """(payload start, end) of the first box at `path`: the test's own small walker."""
    start, end = 0, len(data)
    for kind in path:
        while start < end:
            size = int.from_bytes(data[start : start + 4], "big")
            header = 16 if size == 1 else 8
            size = int.from_bytes(data[start + 8 : start + 16], "big") if size == 1 else size
            if data[start + 4 : start + 8] == kind:
                start, end = start + header, start + size
                break
            start += size
        else:
            raise AssertionError(f"no {kind!r}")
    return start, end


def location_paths(data: bytes) -> list[str]:
    return [found.path for found in find_location_boxes(data)]


def chunk_offsets(data: bytes) -> list[int]:
    start, _ = path_of(data, b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stco")
    count = int.from_bytes(data[start + 4 : start + 8], "big")
    return [
        int.from_bytes(data[start + 8 + 4 * i : start + 12 + 4 * i], "big") for i in range(count)
    ]


def test_location_boxes_of_a_mov_are_found() -> None:
    """©xyz in the track's and the movie's udta, loci, and the ilst items of location keys."""
    assert [
        "/moov/trak/udta/©xyz",
        "/moov/udta/©xyz",
        "/moov/udta/loci",
        "/moov/meta/ilst/\0\0\0\x02",
        "/moov/meta/ilst/\0\0\0\x04",
        "/moov/meta/ilst/\0\0\0\x05",
    ] == location_paths(movie())


@pytest.mark.parametrize("iso", [False, True], ids=["mov-quicktime-meta", "mp4-iso-meta"])
def test_strip_matches_golden(iso: bool) -> None:
    """Every location box becomes a zero-filled free box of its size; no other byte moves."""
    brand = b"isom" if iso else b"qt  "
    original = movie(brand=brand, iso=iso)
    stripped = strip_location(original)
    assert movie(neutralised, brand=brand, iso=iso) == stripped
    assert len(original) == len(stripped)
    assert [] == find_location_boxes(stripped)


def test_location_values_are_gone_not_only_hidden() -> None:
    """The coordinates, place name and accuracy are zeroed; the keys box stays readable."""
    stripped = strip_location(movie())
    for value in (ISO6709, PLACE, ACCURACY, b"loci", b"\xa9xyz"):
        assert value not in stripped
    assert LOCATION_KEYS[0] in stripped  # a constant name, without its value
    assert b"iPhone 15" in stripped and b"A walk" in stripped


def test_chunk_offsets_still_point_at_the_samples() -> None:
    """stco is unchanged and each offset still lands on its chunk inside mdat."""
    original = movie()
    stripped = strip_location(original)
    assert chunk_offsets(original) == chunk_offsets(stripped)
    for offset, chunk in zip(chunk_offsets(stripped), CHUNKS, strict=True):
        assert chunk == stripped[offset : offset + len(chunk)]


def test_nothing_to_strip_gives_the_same_bytes() -> None:
    """A file without location boxes comes back identical: the very same object."""
    plain = movie(drop)
    assert [] == find_location_boxes(plain)
    assert strip_location(plain) is plain
    ftyp_only = box(b"ftyp", b"isom", u32(0), b"isom") + bytes(range(256)) * 4
    assert strip_location(ftyp_only) is ftyp_only


def test_strip_is_idempotent() -> None:
    once = strip_location(movie())
    assert once == strip_location(once)


def test_64_bit_location_box_keeps_its_header() -> None:
    """A ©xyz with a largesize keeps size 1 and its 64-bit size; only the type and body go."""
    position = large_box(b"\xa9xyz", len(ISO6709).to_bytes(2, "big"), b"\x15\xc7", ISO6709)
    data = box(b"ftyp", b"isom", u32(0)) + box(b"moov", box(b"udta", position))
    assert data.replace(position, neutralised(position)) == strip_location(data)


def test_size_zero_means_to_the_end_of_the_parent() -> None:
    """A child with size 0 runs to its parent's end; a last top-level one to the file's."""
    position = u32(0) + xyz()[4:]
    data = box(b"ftyp", b"qt  ", u32(0)) + box(b"moov", box(b"udta", position))
    stripped = strip_location(data)
    assert data.replace(position, u32(0) + b"free" + bytes(len(position) - 8)) == stripped
    to_eof = u32(0) + b"moov" + box(b"udta", xyz())
    assert strip_location(to_eof) == u32(0) + b"moov" + box(b"udta", neutralised(xyz()))


def test_keys_after_ilst_and_udta_namespace_keys() -> None:
    """The keys may follow the ilst they number; a udta-namespace ©xyz key is a location."""
    meta = box(
        b"meta",
        full_box(b"hdlr", u32(0), b"mdta", bytes(12), b"\0"),
        box(b"ilst", item(u32(1), ISO6709), item(u32(2), b"Apple")),
        keys(b"\xa9xyz", b"\xa9mak", namespace=b"udta"),
    )
    data = box(b"moov", meta)
    assert ["/moov/meta/ilst/\0\0\0\x01"] == location_paths(data)
    assert ISO6709 not in strip_location(data)


def test_track_meta_and_fragment_udta_are_walked() -> None:
    """Location boxes under trak/meta and moof/traf/udta are found too."""
    track_meta = box(
        b"meta",
        full_box(b"hdlr", u32(0), b"mdta", bytes(13)),
        keys(LOCATION_KEYS[0]),
        box(b"ilst", item(u32(1), ISO6709)),
    )
    data = box(b"moov", box(b"trak", track_meta)) + box(b"moof", box(b"traf", box(b"udta", xyz())))
    assert ["/moov/trak/meta/ilst/\0\0\0\x01", "/moof/traf/udta/©xyz"] == location_paths(data)


def test_iso_meta_without_hdlr_is_told_by_its_zero_version() -> None:
    data = box(b"moov", box(b"udta", full_box(b"meta", box(b"ilst", item(b"\xa9xyz", ISO6709)))))
    assert ["/moov/udta/meta/ilst/©xyz"] == location_paths(data)


def test_truncated_last_box_and_stray_end_bytes_are_forgiven() -> None:
    """A cut-off mdat (or a few bytes too few for a box) can hide nothing after it."""
    expected = movie(neutralised)
    assert expected[:-7] == strip_location(movie()[:-7])
    assert expected + b"\0\0\0" == strip_location(movie() + b"\0\0\0")


@pytest.mark.parametrize(
    "data",
    [
        movie()[: MOOV_TYPE_AT + 200],
        box(b"moov", u32(99) + b"udta" + xyz()),
        box(b"moov", box(b"udta", u32(4) + b"\xa9xyz" + ISO6709)),
        box(b"moov", box(b"udta", u32(1) + b"\xa9xyz" + (8).to_bytes(8, "big") + ISO6709)),
        box(b"moov", box(b"udta", xyz(), u32(1) + b"free" + b"\0\0\0")),
        box(b"moov", box(b"meta", full_box(b"hdlr", bytes(21)), full_box(b"keys", u32(2)))),
        box(b"moov", box(b"meta", full_box(b"hdlr", bytes(21)), box(b"keys", b"\0\0"))),
        box(
            b"moov",
            box(b"meta", full_box(b"hdlr", bytes(21)), full_box(b"keys", u32(1, 50), b"mdta")),
        ),
        box(b"ftyp", b"qt  ", u32(0)) + u32(3) + b"moov" + bytes(64),
    ],
    ids=[
        "moov-cut-off",
        "child-past-its-parent",
        "size-smaller-than-header",
        "largesize-smaller-than-header",
        "largesize-cut-off",
        "keys-entries-missing",
        "keys-count-cut-off",
        "keys-entry-past-its-box",
        "top-level-size-below-8",
    ],
)
def test_broken_trees_are_refused(data: bytes) -> None:
    """A tree that cannot be walked where a location could be raises, never guesses."""
    with pytest.raises(BrokenBoxes):
        strip_location(data)
