"""The recording location taken out of MP4, MOV, 3GP and M4A files, without moving a byte.

Spec: ISO/IEC 14496-12, the ISO base media file format (free of charge from
https://standards.iso.org/ittf/PubliclyAvailableStandards/): §4.2 box structure, §8.1.2
`free`, §8.10.1 `udta`, §8.11.1 `meta`; the QuickTime File Format
(https://developer.apple.com/documentation/quicktime-file-format) for `©xyz` user data and
for QuickTime's `meta` with its `keys` and `ilst`; 3GPP TS 26.244 for `loci`.

Phones write where a video was recorded into the file's metadata:

* `©xyz` in a `udta` (of the movie or of a track): an ISO 6709 string such as
  "+51.5000-000.1167+010.000/" (QuickTime, Android, ffmpeg);
* `loci` in a `udta`: 3GPP's location box, with a place name and coordinates;
* a `meta` with a `keys` box naming `com.apple.quicktime.location.ISO6709` (and other
  `com.apple.quicktime.location.*` keys), whose values are the `ilst` items numbered by key.

`strip_location` turns each such box (for keys, the `ilst` item holding the value) into a
`free` box of the same size and fills its contents with zeros: renaming alone would hide the
position from players but leave it readable to anyone looking at the bytes. Nothing changes
size or place, so the chunk offsets in `stco`/`co64` stay valid and the media are untouched.
The `keys` box is left as it is: a key's name is the same constant in every iPhone video and
holds no position, a key without a value is valid QuickTime (readers look values up from
`ilst`), and a made-up replacement name could mean something to some reader.

Only the containers that can hold those boxes are walked (`_ENTER`); sample tables and media
data are never read. A file with nothing to strip is returned as the very same bytes.

A box tree that cannot be walked where a location could be (a box running past its
parent, a size smaller than its header, a cut-off `keys` entry) raises `BrokenBoxes` rather
than being stored as sent: refusing a broken file costs one upload, storing it could publish
where someone lives. Only the end of the file is forgiven: a last top-level box that runs past
it (a truncated `mdat`) or a few stray bytes cannot hide anything after them, unless that box
is one that has to be walked, such as `moov`.

Out of scope: formats that are not ISO BMFF (WebM, Matroska, Ogg, MP3, AAC, WAV, FLAC; their
location metadata, where any exists, is stored as sent), files without an `ftyp` (never
accepted by `hearth.server.core.media.images.detect_av_type`), positions carried as media
samples (GoPro GPMF and dashcam GPS tracks, Apple's timed metadata tracks) and XMP packets
(`udta/XMP_`, `uuid`), which may hold GPS written by an editing program.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CONTENT_TYPES", "Box", "BrokenBoxes", "find_location_boxes", "strip_location"]

# The Content-Types (as hearth.server.core.media.images names them) of the ISO BMFF files read here.
CONTENT_TYPES = frozenset({"video/mp4", "video/quicktime", "video/3gpp", "audio/mp4"})

# Boxes that hold a position, wherever they sit in a walked container.
_LOCATION_TYPES = frozenset({b"\xa9xyz", b"loci"})
# `keys` names whose `ilst` values are positions (Apple also writes the accuracy, a place
# name and the facing direction under this prefix); `udta`-namespace keys are four-char codes.
_LOCATION_KEY_PREFIX = b"com.apple.quicktime.location."
# The containers entered, by parent type (b"" is the top level of the file). Keeping this
# short bounds the depth and keeps the walk away from sample tables and media data.
_ENTER: dict[bytes, frozenset[bytes]] = {
    b"": frozenset({b"moov", b"moof", b"meta"}),
    b"moov": frozenset({b"trak", b"udta", b"meta"}),
    b"moof": frozenset({b"traf"}),  # fragmented files: udta may sit in traf too
    b"trak": frozenset({b"udta", b"meta"}),
    b"traf": frozenset({b"udta", b"meta"}),
    b"udta": frozenset({b"meta"}),
    b"meta": frozenset({b"ilst"}),
}
_NO_KEYS: frozenset[int] = frozenset()


class BrokenBoxes(ValueError):
    """The box tree cannot be walked where a location could be."""


class Box(NamedTuple):
    """One box: its path from the top ("/moov/udta/©xyz") and where it lies in the file."""

    path: str
    type: bytes
    start: int  # the first byte of its size field
    payload: int  # the first byte after its header (8 bytes, or 16 with a largesize)
    end: int  # one past its last byte


def strip_location(data: bytes) -> bytes:
    """`data` with every location box turned into a zero-filled `free` box of the same size.

    Returns `data` itself when there is nothing to strip; raises BrokenBoxes (see above).
    """
    boxes = find_location_boxes(data)
    if not boxes:
        return data
    out = bytearray(data)
    for box in boxes:
        out[box.start + 4 : box.start + 8] = b"free"
        out[box.payload : box.end] = bytes(box.end - box.payload)
    return bytes(out)


def find_location_boxes(data: bytes) -> list[Box]:
    """The boxes of `data` that hold a recording location, in file order."""
    found: list[Box] = []
    _walk(data, 0, len(data), parent=b"", path="", location_keys=_NO_KEYS, found=found)
    return found


def _walk(
    data: bytes,
    start: int,
    end: int,
    *,
    parent: bytes,
    path: str,
    location_keys: frozenset[int],
    found: list[Box],
) -> None:
    """Collect the location boxes among the children of `parent` (data[start:end]).

    `location_keys` are the key numbers whose `ilst` items are positions, for an `ilst`.
    """
    children = _children(data, start, end, parent=parent, path=path)
    item_keys = _NO_KEYS
    if parent == b"meta":  # the keys may come before or after the ilst they number
        item_keys = frozenset().union(
            *(_location_keys(data, box) for box in children if box.type == b"keys")
        )
    for box in children:
        is_item = parent == b"ilst" and int.from_bytes(box.type, "big") in location_keys
        if box.type in _LOCATION_TYPES or is_item:
            found.append(box)
        elif box.type in _ENTER.get(parent, frozenset()):
            first = _meta_children_start(data, box) if box.type == b"meta" else box.payload
            _walk(
                data,
                first,
                box.end,
                parent=box.type,
                path=box.path,
                location_keys=item_keys,
                found=found,
            )


def _children(data: bytes, start: int, end: int, *, parent: bytes, path: str) -> list[Box]:
    """The boxes in data[start:end], each checked to fit before anything reads it."""
    boxes: list[Box] = []
    top_level = parent == b""
    pos = start
    # Fewer than 8 bytes cannot hold a box: QuickTime ends a udta with 4 zero bytes.
    while end - pos >= 8:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        where = f"{path}/{kind.decode('latin-1')} at byte {pos}"
        header = 8
        if size == 1:  # the real size follows, as 64 bits
            if end - pos < 16:
                raise BrokenBoxes(f"{where}: its 64-bit size is cut off")
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:  # "to the end of the file"; ffmpeg reads it as the parent's end
            size = end - pos
        if size < header:
            raise BrokenBoxes(f"{where}: size {size} is smaller than its header")
        if size > end - pos:
            if not top_level or kind in _ENTER[b""]:
                raise BrokenBoxes(f"{where}: it runs past the end of its parent")
            size = end - pos  # a truncated last box: nothing can follow it
        name = f"{path}/{kind.decode('latin-1')}"
        boxes.append(Box(name, kind, pos, pos + header, pos + size))
        pos += size
    return boxes


def _meta_children_start(data: bytes, meta: Box) -> int:
    """Where a `meta` box's children begin.

    QuickTime's `meta` is a plain container, ISO's a FullBox with 4 bytes of version and
    flags first. Both start with a `hdlr`, so where its type sits tells which (ffmpeg looks
    for it too); without one, ISO's version and flags are all zero and a QuickTime child's
    size never is.
    """
    head = data[meta.payload : min(meta.payload + 12, meta.end)]
    if head[4:8] != b"hdlr" and (head[8:12] == b"hdlr" or head[:4] == bytes(4)):
        return meta.payload + 4
    return meta.payload


def _location_keys(data: bytes, keys: Box) -> frozenset[int]:
    """The 1-based indices of the location keys named by a QuickTime `keys` box."""
    pos = keys.payload + 8  # version and flags, entry count
    if pos > keys.end:
        raise BrokenBoxes(f"{keys.path} at byte {keys.start}: its entry count is cut off")
    count = int.from_bytes(data[keys.payload + 4 : pos], "big")
    indices: set[int] = set()
    for index in range(1, count + 1):  # each pass consumes 8+ bytes or raises
        size = int.from_bytes(data[pos : pos + 4], "big") if keys.end - pos >= 8 else 0
        if size < 8 or size > keys.end - pos:
            raise BrokenBoxes(f"{keys.path} at byte {keys.start}: key {index} does not fit")
        name = data[pos + 8 : pos + size]  # after the size and the namespace (mdta, udta)
        if name.startswith(_LOCATION_KEY_PREFIX) or name in _LOCATION_TYPES:
            indices.add(index)
        pos += size
    return frozenset(indices)
