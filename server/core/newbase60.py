"""NewBase60, Tantek Çelik's sexagesimal number encoding for short links.

Spec: http://tantek.pbworks.com/w/page/19402946/NewBase60

The alphabet leaves out I, O and l, which are easy to misread; decoding maps them (and
"-") back to the digits they look like, and treats any other noise as zero, so a short link
typed by hand still lands.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ_abcdefghijkmnopqrstuvwxyz"
_VALUES = {char: index for index, char in enumerate(ALPHABET)}
# Look-alikes accepted when decoding.
_VALUES.update({"I": 1, "l": 1, "O": 0, "-": _VALUES["_"]})


def encode(number: int, width: int = 0) -> str:
    """`number` in NewBase60, left-padded with "0" to at least `width` digits."""
    if number < 0:
        raise ValueError("NewBase60 encodes non-negative integers only")
    digits = []
    while number > 0:
        number, digit = divmod(number, 60)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits)).rjust(max(width, 1), "0")


def decode(text: str) -> int:
    """The number `text` spells, correcting look-alike characters."""
    number = 0
    for char in text:
        number = number * 60 + _VALUES.get(char, 0)
    return number


def normalize(text: str) -> str:
    """The canonical spelling of a typed code: look-alikes replaced, noise kept as "0"."""
    return "".join(ALPHABET[_VALUES.get(char, 0)] for char in text)
