"""MP4 and MOV files built box by box, recorded somewhere, for the video-location tests.

Spec: ISO/IEC 14496-12 box structure (https://standards.iso.org/ittf/PubliclyAvailableStandards/);
QuickTime File Format `udta`, `meta`, `keys`, `ilst`
(https://developer.apple.com/documentation/quicktime-file-format); 3GPP TS 26.244 `loci`.
The movies have a real sample table whose `stco` points into `mdat`; `movie(neutralised)`
is the golden file: each location box replaced by what stripping must give, a zero-filled
`free` box of the same size.
"""

from __future__ import annotations

from collections.abc import Callable

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


MOOV_TYPE_AT = len(box(b"ftyp", b"qt  ", u32(0), b"qt  ")) + 4
