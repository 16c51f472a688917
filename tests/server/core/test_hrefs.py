"""hearth.server.core.hrefs.valid_href: URLs spelled as HTML's href and src require."""

from __future__ import annotations

import pytest

from hearth.server.core.hrefs import valid_href


@pytest.mark.parametrize(
    "url",
    [
        "https://example.test/",
        "https://example.test/a%20b?q=1&r=%C3%BC#frag",
        "https://例え.jp/パス?q=ü",
        "https://[::1]:8080/path",
        "https://example.test/?",
        "https://example.test/#",
        "mailto:alice@example.test",
    ],
)
def test_valid_urls_are_unchanged(url: str) -> None:
    """A URL HTML accepts comes back as it was, non-ASCII letters included."""
    assert url == valid_href(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/my photo.jpg", "https://a.example/my%20photo.jpg"),
        ("https://a.example/a|b^c`d{e}", "https://a.example/a%7Cb%5Ec%60d%7Be%7D"),
        ('https://a.example/"<x>"', "https://a.example/%22%3Cx%3E%22"),
        ("https://a.example/a\\b", "https://a.example/a%5Cb"),
        ("https://a.example/?tags[]=a b", "https://a.example/?tags%5B%5D=a%20b"),
        ("https://a.example/100%", "https://a.example/100%25"),
        ("https://a.example/%zz%41", "https://a.example/%25zz%41"),
        ("https://a.example/p#one#two", "https://a.example/p#one%23two"),
        ("https://[::1]:8080/a b?", "https://[::1]:8080/a%20b?"),
    ],
)
def test_characters_html_refuses_are_percent_encoded(url: str, expected: str) -> None:
    """Spaces, the characters the Nu checker names, stray % and a second # are encoded."""
    assert expected == valid_href(url)
    assert expected == valid_href(expected)


def test_unsplittable_url_is_returned_as_it_is() -> None:
    """A URL urlsplit refuses (an unclosed IPv6 bracket) is left alone."""
    assert "https://[::1/a b" == valid_href("https://[::1/a b")
