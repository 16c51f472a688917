"""The `q=source` query: a post's properties, as the client can edit them.

Spec: https://www.w3.org/TR/micropub/#source-content (§3.7.2)

With no `properties[]` requested the answer is the whole item, `type` included; with some
requested it is only a `properties` object holding those that exist (the spec's Example 23
has no `type` there). Content written as plain text comes back as a plain string
(micropub.rocks 602 checks `properties.content[0]` against a string) and HTML content as
`{"html": ...}`, which is how Hearth stores them; a stored `{"value": text}` without HTML is
given back as the plain string.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from hearth.micropub.commands import RESERVED, is_command

__all__ = ["query_source"]


def _plain_content(value: Any) -> Any:
    if (
        isinstance(value, Mapping)
        and "html" not in value
        and "type" not in value
        and isinstance(value.get("value"), str)
    ):
        return value["value"]
    return value


def query_source(
    properties: Mapping[str, list[Any]], h_type: str, requested: Sequence[str] | None = None
) -> dict[str, Any]:
    """The `q=source` response body for a post of type `h-{h_type}`.

    `requested` is the `properties[]` (or `properties`) query values; None or empty asks
    for everything.
    """
    stored = {
        name: copy.deepcopy(values)
        for name, values in properties.items()
        if values and not is_command(name) and name not in RESERVED
    }
    if "content" in stored:
        stored["content"] = [_plain_content(value) for value in stored["content"]]
    if not requested:
        return {"type": [f"h-{h_type}"], "properties": stored}
    return {
        "properties": {name: stored[name] for name in dict.fromkeys(requested) if name in stored}
    }
