"""Scopes: https://indieauth.spec.indieweb.org/#authorization-request.

A scope is a space-separated list of scope-tokens (RFC 6749 §3.3,
https://www.rfc-editor.org/rfc/rfc6749#section-3.3): `scope-token = 1*( %x21 / %x23-5B /
%x5D-7E )`, printable ASCII without space, `"` or `\\`. `SUPPORTED` holds the scopes Hearth
means to grant: IndieAuth's `profile` and `email`, Micropub's
(https://indieweb.org/scope#Micropub_Scopes) and `read`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["SUPPORTED", "ScopeError", "narrower_or_equal", "parse_scope"]

SUPPORTED = ("profile", "email", "create", "update", "delete", "undelete", "media", "draft", "read")

_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


class ScopeError(ValueError):
    """A scope string with a character no scope-token may hold."""


def parse_scope(raw: str) -> tuple[str, ...]:
    """The scope-tokens of `raw`, in order, each once; `ScopeError` for a bad character.

    Tokens are separated by spaces; extra spaces at the ends or between tokens are ignored.
    """
    tokens: dict[str, None] = {}
    for token in raw.split(" "):
        if not token:
            continue
        if _TOKEN.fullmatch(token) is None:
            raise ScopeError(f"The scope {token!r} has a character scopes may not contain.")
        tokens[token] = None
    return tuple(tokens)


def narrower_or_equal(asked: Iterable[str], granted: Iterable[str]) -> bool:
    """Whether every scope in `asked` is in `granted`."""
    return set(asked) <= set(granted)
