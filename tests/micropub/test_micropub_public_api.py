"""The public surface of micropub.parse: what the endpoint may import."""

from __future__ import annotations

import micropub.errors
import micropub.parse


def test_parse_exports_resolve() -> None:
    """Every name in micropub.parse.__all__ exists."""
    missing = [name for name in micropub.parse.__all__ if not hasattr(micropub.parse, name)]
    assert missing == []


def test_errors_exports_resolve() -> None:
    """Every name in micropub.errors.__all__ exists and is an exception class."""
    exported = [getattr(micropub.errors, name) for name in micropub.errors.__all__]
    assert all(issubclass(value, Exception) for value in exported)


def test_parse_exports_the_entry_points() -> None:
    """The functions the endpoint calls are all exported."""
    entry_points = {"parse_form", "parse_json", "apply_update", "query_source", "publication_state"}
    assert entry_points <= set(micropub.parse.__all__)
