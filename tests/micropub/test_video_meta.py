"""The recording location taken out of MP4/MOV files (hearth.micropub.video_meta), in place.

Spec: ISO/IEC 14496-12 box structure; QuickTime File Format `udta`, `meta`, `keys`, `ilst`;
3GPP TS 26.244 `loci`. The files are built here, box by box, with a real sample table whose
`stco` points into `mdat`. The golden files are the same builds with each location box
replaced by what stripping must give: a zero-filled `free` box of the same size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest

from hearth.micropub.video_meta import BrokenBoxes, find_location_boxes, strip_location
from hearth.server.core.settings import Settings
from tests.micropub.media_data.factory import ENDPOINT, app_client, bearer, token, upload

ISO6709 = b"+51.5000-000.1167+010.000/"
PLACE = b"Hearth Test Garden"
ACCURACY = b"4.716"
CHUNKS = [b"first chunk of video samples!", b"second chunk, and the last one"]
LOCATION_KEYS = [b"com.apple.quicktime.location.ISO6709", b"com.apple.quicktime.location.name"]
KEYS = [b"com.apple.quicktime.make", LOCATION_KEYS[0], b"com.apple.quicktime.model"]

Edit = Callable[[bytes], bytes]


def box(kind: bytes, *children: bytes) -> bytes:
    body = b"".join(children)
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def full_box(kind: bytes, *children: bytes, flags: int = 0) -> bytes:
    """A FullBox: version 0 and `flags` before the contents."""
    return box(kind, flags.to_bytes(4, "big"), *children)


def large_box(kind: bytes, *children: bytes) -> bytes:
    """A box with size 1 and the real size as a 64-bit largesize."""
    body = b"".join(children)
    return (1).to_bytes(4, "big") + kind + (16 + len(body)).to_bytes(8, "big") + body


def u32(*values: int) -> bytes:
    return b"".join(value.to_bytes(4, "big") for value in values)


def neutralised(raw: bytes) -> bytes:
    """What stripping makes of one box: `free`, the same header, zeros for contents."""
    header = 16 if raw[:4] == u32(1) else 8
    return raw[:4] + b"free" + raw[8:header] + bytes(len(raw) - header)


def kept(raw: bytes) -> bytes:
    return raw


def drop(raw: bytes) -> bytes:
    return b""


def xyz(position: bytes = ISO6709) -> bytes:
    """QuickTime user data text: 16-bit length, 16-bit language, then the ISO 6709 string."""
    return box(b"\xa9xyz", len(position).to_bytes(2, "big"), b"\x15\xc7", position)


def loci() -> bytes:
    """3GPP location: language, name, role, 16.16 longitude, latitude, altitude, body, notes."""
    coordinates = u32(int(-0.1167 * 65536) & 0xFFFFFFFF, int(51.5 * 65536), 10 << 16)
    return full_box(b"loci", b"\x15\xc7", PLACE, b"\0\0", coordinates, b"Earth\0", b"\0")


def text(kind: bytes, value: bytes) -> bytes:
    return box(kind, len(value).to_bytes(2, "big"), b"\x15\xc7", value)


def item(kind: bytes, value: bytes) -> bytes:
    """An ilst item: its type (a key number, or a four-char code) around a UTF-8 `data`."""
    return box(kind, box(b"data", u32(1, 0), value))


def keys(*names: bytes, namespace: bytes = b"mdta") -> bytes:
    entries = [box(namespace, name) for name in names]  # size, namespace, name: box-shaped
    return full_box(b"keys", u32(len(names)), *entries)


def apple_meta(location: Edit) -> bytes:
    """QuickTime's plain `meta`: hdlr mdta, keys, and ilst items numbered by key."""
    return box(
        b"meta",
        full_box(b"hdlr", u32(0), b"mdta", bytes(12), b"\0"),
        keys(*KEYS, LOCATION_KEYS[1], b"com.apple.quicktime.location.accuracy.horizontal"),
        box(
            b"ilst",
            item(u32(1), b"Apple"),
            location(item(u32(2), ISO6709)),
            item(u32(3), b"iPhone 15"),
            location(item(u32(4), PLACE)),
            location(item(u32(5), ACCURACY)),
        ),
    )


def itunes_meta(location: Edit) -> bytes:
    """ISO's FullBox `meta` as MP4 muxers write it in udta: hdlr mdir, then ilst."""
    return full_box(
        b"meta",
        full_box(b"hdlr", u32(0), b"mdir", b"appl", bytes(8), b"\0"),
        box(b"ilst", item(b"\xa9nam", b"A walk"), location(item(b"\xa9xyz", ISO6709))),
    )


def sample_table(offsets: list[int]) -> bytes:
    sizes = [len(chunk) for chunk in CHUNKS]
    return box(
        b"stbl",
        full_box(b"stsd", u32(0)),
        full_box(b"stts", u32(1, len(CHUNKS), 600)),
        full_box(b"stsc", u32(1, 1, 1, 1)),
        full_box(b"stsz", u32(0, len(sizes), *sizes)),
        full_box(b"stco", u32(len(offsets), *offsets)),
    )


def track(offsets: list[int], location: Edit) -> bytes:
    matrix = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    media = box(
        b"mdia",
        full_box(b"mdhd", u32(0, 0, 600, 1200), b"\x15\xc7\0\0"),
        full_box(b"hdlr", u32(0), b"vide", bytes(12), b"VideoHandler\0"),
        box(
            b"minf",
            full_box(b"vmhd", bytes(8), flags=1),
            box(b"dinf", full_box(b"dref", u32(1), full_box(b"url ", flags=1))),
            sample_table(offsets),
        ),
    )
    header = full_box(b"tkhd", u32(0, 0, 1, 0, 1200), bytes(16), matrix, u32(64 << 16, 48 << 16))
    return box(b"trak", header, media, box(b"udta", location(xyz())))


def movie(location: Edit = kept, *, brand: bytes = b"qt  ", iso: bool = False) -> bytes:
    """A MOV (or with `iso`, an MP4) recorded somewhere: moov first, then a 64-bit mdat."""
    ftyp = box(b"ftyp", brand, u32(0), brand)

    def moov(offsets: list[int]) -> bytes:
        mvhd = full_box(b"mvhd", u32(0, 0, 600, 1200, 0x10000), b"\x01\0", bytes(10 + 36 + 24))
        movie_data = box(
            b"udta",
            location(xyz()),
            text(b"\xa9nam", b"A walk"),
            location(loci()),
            itunes_meta(location) if iso else b"",
            bytes(4),  # QuickTime's optional end of the user data list
        )
        meta = b"" if iso else apple_meta(location)
        return box(b"moov", mvhd + track(offsets, location), movie_data, meta)

    first = len(ftyp) + len(moov([0, 0])) + 16  # the offsets' values never change the size
    offsets = [first, first + len(CHUNKS[0])]
    return ftyp + moov(offsets) + large_box(b"mdat", *CHUNKS)


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


MOOV_TYPE_AT = len(box(b"ftyp", b"qt  ", u32(0), b"qt  ")) + 4


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


BRANDS = {
    b"qt  ": "video/quicktime",
    b"isom": "video/mp4",
    b"3gp6": "video/3gpp",
    b"M4A ": "audio/mp4",
}


@pytest.mark.parametrize("brand", sorted(BRANDS), ids=lambda brand: BRANDS[brand])
async def test_upload_is_served_without_location(client: httpx.AsyncClient, brand: bytes) -> None:
    """Through the media endpoint, each ISO BMFF type is stored with its location stripped."""
    data = movie(brand=brand)
    response = await upload(client, data, secret=await token(), filename="walk.mov")
    assert 201 == response.status_code, response.text
    served = await client.get(response.headers["location"])
    assert BRANDS[brand] == served.headers["content-type"]
    assert movie(neutralised, brand=brand) == served.content
    assert ISO6709 not in served.content


async def test_keep_exif_setting_keeps_video_location(settings: Settings) -> None:
    """With HEARTH_MEDIA_KEEP_EXIF on, the MOV is served byte for byte as sent."""
    data = movie()
    async with app_client(replace(settings, media_keep_exif=True)) as client:
        response = await upload(client, data, secret=await token(), filename="walk.mov")
        assert 201 == response.status_code, response.text
        served = await client.get(response.headers["location"])
    assert data == served.content


async def test_broken_upload_is_refused_and_not_stored(client: httpx.AsyncClient) -> None:
    """A MOV whose moov is cut off is 400 and nothing lands in the media store."""
    secret = await token()
    response = await upload(client, movie()[: MOOV_TYPE_AT + 200], secret=secret)
    assert 400 == response.status_code
    assert "location cannot be removed" in response.json()["error_description"]
    last = await client.get(ENDPOINT, params={"q": "last"}, headers=bearer(secret))
    assert {} == last.json()
