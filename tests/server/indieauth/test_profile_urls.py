"""Tests for hearth.server.indieauth.profile_urls: the spec's profile URL and client ID rules.

Examples from https://indieauth.spec.indieweb.org/#user-profile-url,
#client-identifier and #url-canonicalization.
"""

from __future__ import annotations

import pytest

from hearth.server.indieauth.profile_urls import (
    ProfileUrlError,
    canonical_profile_url,
    client_id_error,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("example.com", "https://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("example.com/", "https://example.com/"),
        ("HTTP://Example.com", "http://example.com/"),
    ],
)
def test_canonicalization_adds_scheme_and_path_and_lowercases(raw: str, canonical: str) -> None:
    assert canonical == canonical_profile_url(raw, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["https://example.com/", "https://example.com/username", "https://example.com/users?id=100"],
)
def test_the_specs_valid_profile_urls_are_kept(url: str) -> None:
    assert url == canonical_profile_url(url, allow_private=False)


def test_path_and_query_keep_their_case() -> None:
    url = canonical_profile_url("https://EXAMPLE.com/Alice?Tab=1", allow_private=False)
    assert "https://example.com/Alice?Tab=1" == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mailto:user@example.com", "http or https"),
        ("ftp://example.com/", "http or https"),
        ("https://example.com/foo/../bar", "path segments"),
        ("https://example.com/foo/./bar", "path segments"),
        ("https://example.com/%2e%2e/bar", "path segments"),
        ("https://example.com/#me", "fragment"),
        ("https://user:pass@example.com/", "user name or password"),
        ("https://alice@example.com/", "user name or password"),
        ("https://example.com:8443/", "port"),
        ("example.com:8443", "port"),
        ("https://172.28.92.51/", "IP address"),
        ("https://[::1]/", "IP address"),
        ("https://2887540787/", "not a valid domain name"),
        ("https://0x7f.1/", "not a valid domain name"),
        ("https://exa_mple..com/", "not a valid domain name"),
        ("https://ex ample.com/", "spaces"),
        ("", "empty"),
    ],
)
def test_invalid_profile_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ProfileUrlError, match=reason):
        canonical_profile_url(url, allow_private=False)


def test_allow_private_accepts_an_ip_address_host_and_port() -> None:
    url = canonical_profile_url("http://127.0.0.1:8000", allow_private=True)
    assert "http://127.0.0.1:8000/" == url


def test_allow_private_still_refuses_userinfo() -> None:
    with pytest.raises(ProfileUrlError, match="user name"):
        canonical_profile_url("http://me@127.0.0.1/", allow_private=True)


@pytest.mark.parametrize(
    "client_id",
    [
        "https://app.example.com/",
        "https://app.example.com/client?id=1",
        "https://app.example.com:8443/",
        "http://127.0.0.1:3000/",
        "http://[::1]/",
        "http://localhost:8080/",
    ],
)
def test_valid_client_ids_have_no_error(client_id: str) -> None:
    assert client_id_error(client_id, allow_private=False) is None


@pytest.mark.parametrize(
    ("client_id", "reason"),
    [
        ("app.example.com", "full http or https URL"),
        ("mailto:app@example.com", "full http or https URL"),
        ("https://app.example.com/#x", "fragment"),
        ("https://dev@app.example.com/", "user name or password"),
        ("https://app.example.com/a/../b", "path segments"),
        ("https://10.0.0.1/", "domain name or 127.0.0.1"),
        ("https://[2001:db8::1]/", "domain name or 127.0.0.1"),
    ],
)
def test_invalid_client_ids_have_an_error(client_id: str, reason: str) -> None:
    error = client_id_error(client_id, allow_private=False)
    assert error is not None
    assert reason in error


def test_allow_private_accepts_any_ip_client_id_host() -> None:
    assert client_id_error("https://10.0.0.1/", allow_private=True) is None
