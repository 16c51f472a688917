"""Tests for hearth.server.indieauth.scopes: RFC 6749 §3.3 scope strings."""

from __future__ import annotations

import pytest

from hearth.server.indieauth.scopes import SUPPORTED, ScopeError, narrower_or_equal, parse_scope


def test_parse_splits_on_spaces_in_order() -> None:
    assert ("profile", "create", "media") == parse_scope("profile create media")


def test_parse_drops_duplicates_keeping_the_first() -> None:
    assert ("create", "update") == parse_scope("create update create")


def test_parse_ignores_extra_spaces() -> None:
    assert ("read", "draft") == parse_scope("  read   draft ")


def test_parse_of_an_empty_scope_is_empty() -> None:
    assert () == parse_scope("")


@pytest.mark.parametrize("raw", ["create\tupdate", 'say"hi"', "back\\slash", "caf\u00e9"])
def test_parse_refuses_characters_outside_scope_token(raw: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope(raw)


def test_parse_accepts_every_scope_token_character() -> None:
    token = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
    assert (token,) == parse_scope(token)


def test_a_subset_is_narrower() -> None:
    assert narrower_or_equal(("create",), ("create", "update"))


def test_the_same_scopes_are_equal() -> None:
    assert narrower_or_equal(("update", "create"), ("create", "update"))


def test_an_extra_scope_is_not_narrower() -> None:
    assert not narrower_or_equal(("create", "delete"), ("create",))


def test_supported_scopes_are_valid_tokens() -> None:
    assert SUPPORTED == parse_scope(" ".join(SUPPORTED))
