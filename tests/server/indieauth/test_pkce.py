"""Tests for hearth.server.indieauth.pkce: RFC 7636 S256 challenges and verifiers."""

from __future__ import annotations

from hearth.server.indieauth import pkce

# RFC 7636 Appendix B (https://www.rfc-editor.org/rfc/rfc7636#appendix-B).
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_s256_challenge_matches_rfc_7636_appendix_b() -> None:
    assert RFC_CHALLENGE == pkce.s256_challenge(RFC_VERIFIER)


def test_s256_challenge_has_no_padding() -> None:
    assert "=" not in pkce.s256_challenge("a" * 43)


def test_the_rfc_pair_matches() -> None:
    assert pkce.matches(RFC_VERIFIER, RFC_CHALLENGE, "S256")


def test_a_different_verifier_does_not_match() -> None:
    assert not pkce.matches("x" * 43, RFC_CHALLENGE, "S256")


def test_the_plain_method_is_refused() -> None:
    assert not pkce.matches(RFC_VERIFIER, RFC_VERIFIER, "plain")


def test_the_method_name_is_exact() -> None:
    assert not pkce.matches(RFC_VERIFIER, RFC_CHALLENGE, "s256")


def test_an_invalid_verifier_never_matches_even_its_own_challenge() -> None:
    short = "a" * 42
    assert not pkce.matches(short, pkce.s256_challenge(short), "S256")


def test_a_non_ascii_challenge_does_not_match() -> None:
    assert not pkce.matches(RFC_VERIFIER, "é" * 43, "S256")


def test_verifier_length_bounds() -> None:
    assert [False, True, True, False] == [
        pkce.verifier_is_valid("a" * n) for n in (42, 43, 128, 129)
    ]


def test_verifier_allows_only_unreserved_characters() -> None:
    assert pkce.verifier_is_valid("A-Z.a_z~09" * 5)
    assert not pkce.verifier_is_valid("a" * 42 + "+")
    assert not pkce.verifier_is_valid("a" * 42 + "\n")


def test_new_verifiers_are_valid_and_differ() -> None:
    first, second = pkce.new_verifier(), pkce.new_verifier()
    assert pkce.verifier_is_valid(first)
    assert first != second
