"""The public surface of hearth.micropub.parsing: what the endpoint may import."""

from __future__ import annotations

import hearth.micropub.errors
import hearth.micropub.parsing


def test_parse_exports_resolve() -> None:
    """Every name in hearth.micropub.parsing.__all__ exists."""
    missing = [
        name
        for name in hearth.micropub.parsing.__all__
        if not hasattr(hearth.micropub.parsing, name)
    ]
    assert missing == []


def test_errors_exports_resolve() -> None:
    """Every name in hearth.micropub.errors.__all__ exists and is an exception class."""
    exported = [getattr(hearth.micropub.errors, name) for name in hearth.micropub.errors.__all__]
    assert all(issubclass(value, Exception) for value in exported)


def test_parse_exports_the_entry_points() -> None:
    """The functions the endpoint calls are all exported."""
    entry_points = {"parse_form", "parse_json", "apply_update", "query_source", "publication_state"}
    assert entry_points <= set(hearth.micropub.parsing.__all__)
