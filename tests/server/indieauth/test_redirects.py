"""Tests for hearth.server.indieauth.redirects: https://indieauth.spec.indieweb.org/#redirect-url."""

from __future__ import annotations

from hearth.server.indieauth.redirects import redirect_uri_allowed, same_origin, with_query

CLIENT = "https://app.example.com/"


def test_same_scheme_host_and_port_is_same_origin() -> None:
    assert same_origin(CLIENT, "https://app.example.com/callback?x=1")


def test_default_ports_are_normalised() -> None:
    assert same_origin("https://app.example.com/", "https://APP.example.com:443/cb")
    assert same_origin("http://app.example.com:80/", "http://app.example.com/cb")


def test_another_scheme_is_another_origin() -> None:
    assert not same_origin(CLIENT, "http://app.example.com/callback")


def test_another_host_is_another_origin() -> None:
    assert not same_origin(CLIENT, "https://evil.example.com/callback")


def test_another_port_is_another_origin() -> None:
    assert not same_origin(CLIENT, "https://app.example.com:8443/callback")


def test_non_http_urls_have_no_origin() -> None:
    assert not same_origin("com.example.app:/cb", "com.example.app:/cb")


def test_a_same_origin_redirect_is_allowed() -> None:
    assert redirect_uri_allowed(CLIENT, "https://app.example.com/cb", [])


def test_an_exactly_listed_redirect_is_allowed() -> None:
    listed = ["https://login.example.net/cb", "com.example.app:/cb"]
    assert redirect_uri_allowed(CLIENT, "https://login.example.net/cb", listed)
    assert redirect_uri_allowed(CLIENT, "com.example.app:/cb", listed)


def test_a_redirect_elsewhere_and_unlisted_is_refused() -> None:
    listed = ["https://login.example.net/cb"]
    assert not redirect_uri_allowed(CLIENT, "https://login.example.net/cb/other", listed)


def test_a_redirect_with_a_fragment_is_refused() -> None:
    assert not redirect_uri_allowed(CLIENT, "https://app.example.com/cb#x", [])


def test_with_query_adds_the_parameters() -> None:
    uri = with_query("https://app.example.com/cb", {"code": "abc", "state": "s 1"})
    assert "https://app.example.com/cb?code=abc&state=s%201" == uri


def test_with_query_keeps_the_existing_query_as_written() -> None:
    uri = with_query("https://app.example.com/cb?a=b+c&d", {"code": "abc"})
    assert "https://app.example.com/cb?a=b+c&d&code=abc" == uri


def test_with_query_replaces_parameters_of_the_same_name() -> None:
    uri = with_query("https://app.example.com/cb?state=old&a=1", {"state": "new"})
    assert "https://app.example.com/cb?a=1&state=new" == uri


def test_with_query_encodes_the_issuer_and_error() -> None:
    uri = with_query(
        "https://app.example.com/cb", {"error": "access_denied", "iss": "https://me.example/"}
    )
    assert "https://app.example.com/cb?error=access_denied&iss=https%3A%2F%2Fme.example%2F" == uri
