"""The elements of a top-level JSON array, one at a time, from a byte stream: pure, no zip.

An export's posts file (`posts_N.json`) is one JSON array of posts: a few MB for a large
account, and more for the largest. `json.loads` needs the whole text and then builds the
whole list, so memory grows with the export. `array_items` reads the stream in chunks and
decodes one element at a time with the standard library's own C decoder
(`json.JSONDecoder.raw_decode`), so what it holds at once is one element and a chunk.

* An element cut by the end of a chunk fails to decode; more is read and it is decoded
  again. The read grows with what is waiting (doubling), so even one huge element costs a
  few decodes, not one per chunk.
* A number at the end of what was read may go on in the next chunk ("-2" of "-2.5e3"), so
  it is only taken once something other than a number's characters follows, or the end.
* A top-level value that is not an array (an export holding one post writes the post itself)
  is given whole, wrapped in `Lone`, so the caller can tell it from an element.
* Text is UTF-8 (a BOM is allowed, as `json.loads` allows it on bytes). Errors are
  `ValueError`s naming the character where the file stops being JSON (or a
  `UnicodeDecodeError`); deep nesting raises `RecursionError`, as `json.loads` does. Limits
  on size are the caller's (it reads through whatever stream it gives).

ijson would do the same, but is a dependency for what a dozen lines of the standard library
do here at C speed: the elements are small, and one `raw_decode` each is all that is needed.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Lone", "array_items"]

CHUNK = 64 * 1024
_SPACE = re.compile(r"[ \t\n\r]*")
# What may follow a number's decoded part and still belong to it ("-2" of "-2.5e+3").
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*")
_DECODER = json.JSONDecoder()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class Lone:
    """The whole document, when it is not an array."""

    value: Any


def _number_may_go_on(value: Any, buffer: str, end: int) -> bool:
    """Whether `value`, decoded up to `end`, is a number that the text read next could
    still lengthen: nothing but number characters follow it in `buffer`."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    tail = _NUMBER_TAIL.match(buffer, end)
    return tail is not None and tail.end() == len(buffer)


class _Text:
    """The stream's text read so far and not yet consumed: `buffer[pos:]`."""

    def __init__(self, stream: Readable, chunk: int) -> None:
        self._stream = stream
        self._chunk = chunk
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("surrogatepass")
        self.buffer = ""
        self.pos = 0
        self.ended = False
        # Characters dropped from the buffer's start: positions in errors are the file's.
        self.dropped = 0

    def more(self) -> bool:
        """Read on (at least as much again as is waiting); False if the stream had ended."""
        if self.ended:
            return False
        waiting = len(self.buffer) - self.pos
        data = self._stream.read(max(self._chunk, waiting))
        self.ended = not data
        # What was consumed is dropped here, so the buffer never holds more than one
        # element (and the chunk after it).
        self.buffer = self.buffer[self.pos :] + self._decoder.decode(data, final=self.ended)
        self.dropped += self.pos
        self.pos = 0
        return True

    def next_char(self) -> str:
        """The next character that is not white space ("" at the end), not consumed."""
        while True:
            match = _SPACE.match(self.buffer, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return ""

    def value(self) -> Any:
        """Decode the JSON value that starts at `pos`, reading more until it is whole."""
        self.next_char()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if self.more():
                    continue
                raise self.error(exc.msg, exc.pos) from None
            if _number_may_go_on(value, self.buffer, end) and self.more():
                continue
            self.pos = end
            return value

    def expect_end(self) -> None:
        if self.next_char() != "":
            raise self.error("Extra data", self.pos)

    def error(self, message: str, pos: int) -> ValueError:
        return ValueError(f"{message} at character {self.dropped + pos}")


def array_items(stream: Readable, *, chunk: int = CHUNK) -> Iterator[Any]:
    """Each element of the JSON array `stream` holds, in order; or `Lone(value)` once for a
    document that is not an array. Raises ValueError for text that is not JSON."""
    text = _Text(stream, chunk)
    first = text.next_char()
    if first != "[":
        yield Lone(text.value())
        text.expect_end()
        return
    text.pos += 1
    if text.next_char() == "]":
        text.pos += 1
        text.expect_end()
        return
    while True:
        yield text.value()
        separator = text.next_char()
        text.pos += 1
        if separator == "]":
            text.expect_end()
            return
        if separator != ",":
            raise text.error("Expecting ',' delimiter or ']'", text.pos - 1)
