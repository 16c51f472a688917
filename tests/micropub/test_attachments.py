"""Uploads and alt text as property values (W3C Micropub §3.3.1, §3.3.2; mp-photo-alt)."""

from __future__ import annotations

import pytest

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.parsing import attach, pair_alt, parse_form, upload_property

SUNSET = "https://example.test/media/sunset.jpg"
CITY = "https://example.test/media/city.jpg"


@pytest.mark.parametrize(
    ("part", "prop"),
    [("photo", "photo"), ("photo[]", "photo"), ("video", "video"), ("audio[]", "audio")],
)
def test_upload_property_names(part: str, prop: str) -> None:
    """A file part named photo or photo[] fills photo; video and audio likewise."""
    assert upload_property(part) == prop


def test_upload_property_refuses_other_names() -> None:
    """A file part for any other property is refused before it is stored."""
    with pytest.raises(InvalidRequest, match="'content'"):
        upload_property("content")


def test_pair_alt_by_index() -> None:
    """The i-th alt text goes with the i-th photo URL."""
    assert pair_alt([SUNSET, CITY], ["Sun", "City"]) == [
        {"value": SUNSET, "alt": "Sun"},
        {"value": CITY, "alt": "City"},
    ]


def test_pair_alt_empty_text_skips_a_photo() -> None:
    """An empty alt text leaves its photo a plain URL."""
    assert pair_alt([SUNSET, CITY], ["", "City"]) == [SUNSET, {"value": CITY, "alt": "City"}]


def test_pair_alt_fewer_texts_than_photos() -> None:
    """Photos past the last alt text stay plain URLs."""
    assert pair_alt([SUNSET, CITY], ["Sun"]) == [{"value": SUNSET, "alt": "Sun"}, CITY]


def test_pair_alt_keeps_explicit_alt() -> None:
    """A photo object that already has alt text keeps it."""
    photo = {"value": SUNSET, "alt": "Given"}
    assert pair_alt([photo], ["Other"]) == [photo]


def test_pair_alt_adds_to_object_without_alt() -> None:
    """A photo object without alt text gets the paired one."""
    assert pair_alt([{"value": SUNSET}], ["Sun"]) == [{"value": SUNSET, "alt": "Sun"}]


def test_pair_alt_is_idempotent() -> None:
    """Pairing twice gives the same photos as pairing once."""
    once = pair_alt([SUNSET, CITY], ["Sun", "City"])
    assert pair_alt(once, ["Sun", "City"]) == once


def test_attach_appends_after_url_values() -> None:
    """Stored uploads follow the URL values of the same property, in upload order."""
    after = attach({"photo": [SUNSET]}, [("photo", CITY), ("video", "https://example.test/v.mp4")])
    assert after == {"photo": [SUNSET, CITY], "video": ["https://example.test/v.mp4"]}


def test_attach_pairs_alt_over_all_photos() -> None:
    """mp-photo-alt counts URL photos first, then uploaded ones."""
    after = attach({"content": ["hi"], "photo": [SUNSET]}, [("photo[]", CITY)], ["", "City"])
    assert after == {"content": ["hi"], "photo": [SUNSET, {"value": CITY, "alt": "City"}]}


def test_attach_does_not_change_its_input() -> None:
    """attach returns new properties; the ones given are untouched."""
    before = {"photo": [SUNSET]}
    attach(before, [("photo", CITY)], ["Sun"])
    assert before == {"photo": [SUNSET]}


def test_with_uploads_on_a_parsed_form() -> None:
    """A multipart create with only a file has its photo once the URL is known (300)."""
    request = parse_form([("h", "entry"), ("mp-photo-alt", "Sun")], ["photo"])
    assert request.with_uploads([SUNSET]).properties == {"photo": [{"value": SUNSET, "alt": "Sun"}]}


def test_with_uploads_needs_one_url_per_file() -> None:
    """Passing a different number of URLs than file parts is a programming error."""
    request = parse_form([("h", "entry")], ["photo", "photo"])
    with pytest.raises(ValueError, match="2 uploads but 1 stored URLs"):
        request.with_uploads([SUNSET])
