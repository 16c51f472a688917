"""Type aliases shared by the Micropub modules.

Spec: https://www.w3.org/TR/micropub/#json-syntax (§3.3.2: properties are a dict of arrays)
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["Kind", "Properties"]

# An mf2 item's properties: every value is a list (strings, numbers or nested objects).
Properties = dict[str, list[Any]]

# What a Micropub POST asks for (§3.3 create, §3.4 update, §3.5 delete and undelete).
Kind = Literal["create", "update", "delete", "undelete"]
# `post-status` and `visibility` are `hearth.server.core.publication.Status`/`Visibility`.
