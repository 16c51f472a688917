"""Reading a JSON array an element at a time (syndication/instagram/json_stream.py)."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

import pytest

from hearth.syndication.instagram.json_stream import Lone, array_items

# Every kind of JSON value, with what a chunk boundary can cut badly: escapes, characters of
# several UTF-8 bytes, numbers whose first digits are a number too.
TRICKY: list[Any] = [
    {"title": 'caf\u00e9 "quoted" \\ back', "uri": "media/😀.jpg", "n": -12.5e-3},
    [1, 22, 333, 4444.25, True, False, None, ""],
    123456789,
    {"nested": [{"a": [[], {}]}], "\u00f0\u009f\u0098\u008d": "mojibake key"},
    -0.0,
    "ünïcödé",
]


def items(data: bytes, chunk: int = 1024) -> list[Any]:
    return list(array_items(io.BytesIO(data), chunk=chunk))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 8, 64])
def test_elements_cut_by_chunks_come_whole(chunk: int) -> None:
    """Whatever the chunk size, the elements are those `json.loads` gives."""
    for text in (json.dumps(TRICKY), json.dumps(TRICKY, ensure_ascii=False, indent=2)):
        assert TRICKY == items(text.encode(), chunk)


def test_memory_stays_a_chunk_for_a_large_array() -> None:
    """An array of 20,000 posts (6 MB) is read with a small fraction of its size in memory;
    `json.loads` takes several times the file."""
    posts = [{"media": [{"uri": f"media/posts/{n}.jpg", "creation_timestamp": 1704067200 + n}],
              "title": "x" * 200} for n in range(20_000)]  # fmt: skip
    data = json.dumps(posts).encode()
    del posts
    tracemalloc.start()
    try:
        count = sum(1 for _ in array_items(io.BytesIO(data)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 20_000 == count
    assert peak < len(data) / 10, peak


def test_a_document_that_is_no_array_comes_whole_as_lone() -> None:
    """A lone object (an export of one post) is given once, marked as the whole document."""
    assert [Lone({"media": []})] == items(b' {"media": []} ', chunk=2)


@pytest.mark.parametrize(
    ("text", "where"),
    [(b"", 0), (b"[1, 2", 5), (b"[1,]", 3), (b"[1 2]", 3), (b'[{"a": tru}]', 7), (b"[] []", 3)],
)
def test_broken_json_names_the_character(text: bytes, where: int) -> None:
    """Text that is not JSON raises ValueError naming where it stops being JSON in the file."""
    with pytest.raises(ValueError, match=f"at character {where}$"):
        items(text, chunk=2)
