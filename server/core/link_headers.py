"""`Link` header values (RFC 8288 §3, https://www.rfc-editor.org/rfc/rfc8288#section-3).

A pure parser, shared by Webmention endpoint discovery and IndieAuth's discovery of a
profile's `indieauth-metadata` (https://indieauth.spec.indieweb.org/#discovery-by-clients).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LinkValue", "parse_link_header", "rel_tokens"]

_TOKEN_END = frozenset(";,= \t")
_SPACE = re.compile(r"[ \t\n\f\r]+")


@dataclass
class LinkValue:
    """One link-value of a `Link` header (RFC 8288 §3): the URI reference and its params."""

    url: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def rels(self) -> list[str]:
        return rel_tokens(self.params.get("rel", ""))


def rel_tokens(value: str) -> list[str]:
    """Relation types of a rel value: whitespace-separated and ASCII case-insensitive."""
    return [token.lower() for token in _SPACE.split(value) if token]


def _skip(value: str, i: int, chars: str = " \t") -> int:
    while i < len(value) and value[i] in chars:
        i += 1
    return i


def _quoted(value: str, i: int) -> tuple[str, int]:
    """The quoted-string starting at value[i] == '"', unescaped, and the index after it."""
    out, i = [], i + 1
    while i < len(value) and value[i] != '"':
        if value[i] == "\\" and i + 1 < len(value):
            i += 1
        out.append(value[i])
        i += 1
    return "".join(out), i + 1


def _token(value: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(value) and value[i] not in _TOKEN_END:
        i += 1
    return value[start:i], i


def _to_next_value(value: str, i: int) -> int:
    """Index after the next top-level comma (skipping quoted strings), for malformed input."""
    while i < len(value) and value[i] != ",":
        i = _quoted(value, i)[1] if value[i] == '"' else i + 1
    return i + 1


def parse_link_header(value: str) -> list[LinkValue]:
    """Every link-value of one `Link` header value, in order.

    `<url>` may contain commas and semicolons; params may come in any order, quoted or not;
    param names are case-insensitive and only the first occurrence of each counts (RFC 8288
    §3: later `rel`s are ignored). Malformed link-values are skipped.
    """
    links: list[LinkValue] = []
    i = 0
    while True:
        i = _skip(value, i, " \t,")
        if i >= len(value):
            return links
        end = value.find(">", i) if value[i] == "<" else -1
        if end < 0:
            i = _to_next_value(value, i)
            continue
        link, i = LinkValue(value[i + 1 : end]), end + 1
        while (i := _skip(value, i)) < len(value) and value[i] == ";":
            name, i = _token(value, _skip(value, i + 1))
            param = ""
            if (i := _skip(value, i)) < len(value) and value[i] == "=":
                i = _skip(value, i + 1)
                quoted = i < len(value) and value[i] == '"'
                param, i = _quoted(value, i) if quoted else _token(value, i)
            if name:
                link.params.setdefault(name.lower(), param)
        links.append(link)
        i = _to_next_value(value, i) if i < len(value) and value[i] != "," else i
