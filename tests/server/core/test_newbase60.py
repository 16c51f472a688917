"""NewBase60 encoding as Tantek specifies it."""

from __future__ import annotations

from hearth.server.core import newbase60


def test_known_vectors() -> None:
    """Published test vectors encode as expected."""
    assert newbase60.encode(1337) == "NH"
    assert newbase60.encode(544) == "94"
    assert newbase60.encode(20089) == "5_p"
    assert newbase60.encode(0) == "0"


def test_width_pads_with_zeros() -> None:
    """A width pads on the left, as epoch days in short codes need three digits."""
    assert newbase60.encode(544, 3) == "094"


def test_round_trip() -> None:
    """Decoding an encoding gives the number back."""
    for number in (*range(5000), 215_999, 10**9):
        assert number == newbase60.decode(newbase60.encode(number))


def test_lookalikes_decode_to_what_they_resemble() -> None:
    """I and l read as 1, O as 0 and - as _."""
    assert newbase60.decode("1") == newbase60.decode("I") == newbase60.decode("l")
    assert newbase60.decode("0") == newbase60.decode("O")
    assert newbase60.normalize("5-p") == "5_p"
