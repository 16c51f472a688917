"""The parsed Micropub request: what the endpoint acts on, whichever syntax it came in.

Spec: https://www.w3.org/TR/micropub/#create (§3.3), https://www.w3.org/TR/micropub/#update
(§3.4), https://www.w3.org/TR/micropub/#delete (§3.5)

`parse_form` and `parse_json` both produce a `MicropubRequest`; `to_json()` is the shape the
golden files in tests/micropub/data/ record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hearth.micropub.attachments import attach, pair_alt
from hearth.micropub.commands import Commands, build_commands
from hearth.micropub.errors import InvalidRequest
from hearth.micropub.types import Kind, Properties

__all__ = ["H_TYPES", "MicropubRequest", "Update", "create_request"]

# The mf2 types a post can be created as, without the "h-" (§4: h-entry at least).
H_TYPES = ("entry", "event")


@dataclass(frozen=True)
class Update:
    """The operations of a JSON update (§3.4), mp-* names already moved to the commands."""

    # §3.4.1: property -> the values that replace all its current ones.
    replace: Properties = field(default_factory=dict)
    # §3.4.2: property -> values appended to the current ones.
    add: Properties = field(default_factory=dict)
    # §3.4.3, array form: properties removed entirely.
    delete_properties: tuple[str, ...] = ()
    # §3.4.3, object form: property -> values removed (the property goes once empty).
    delete_values: Properties = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The operations in the spec's own request shape, empty ones left out."""
        out: dict[str, Any] = {}
        if self.replace:
            out["replace"] = self.replace
        if self.add:
            out["add"] = self.add
        if self.delete_properties:
            out["delete"] = list(self.delete_properties)
        elif self.delete_values:
            out["delete"] = self.delete_values
        return out


@dataclass(frozen=True)
class MicropubRequest:
    """One Micropub POST, parsed and validated; no IO has happened yet."""

    kind: Kind
    # "entry" or "event" for a create; None for the actions on an existing post.
    h_type: str | None = None
    # The post's properties (create only), reserved keys and mp-* commands removed.
    properties: Properties = field(default_factory=dict)
    # mp-* commands, and the validated post-status/visibility (create and update).
    commands: Commands = field(default_factory=Commands)
    # The post an update, delete or undelete acts on, exactly as sent.
    url: str | None = None
    # The operations of an update.
    update: Update | None = None
    # The property of each multipart file part, in order; `with_uploads` adds their stored
    # URLs once the endpoint has saved the files.
    uploads: tuple[str, ...] = ()

    def with_uploads(self, urls: Sequence[str]) -> MicropubRequest:
        """This create with the stored file URLs added, in part order, alt texts paired.

        `urls[i]` is where the endpoint stored the file of part `uploads[i]`. The uploads
        come after any URL values of the same property, so `mp-photo-alt` counts the
        photos given as URLs first and the uploaded ones after them.
        """
        if len(urls) != len(self.uploads):
            raise ValueError(f"{len(self.uploads)} uploads but {len(urls)} stored URLs")
        properties = attach(
            self.properties, list(zip(self.uploads, urls, strict=True)), self.commands.photo_alt
        )
        return replace(self, properties=properties)

    def to_json(self) -> dict[str, Any]:
        """Everything the request says, as plain JSON data (the golden-file shape)."""
        return {
            "kind": self.kind,
            "h_type": self.h_type,
            "properties": self.properties,
            "commands": self.commands.to_json(),
            "uploads": list(self.uploads),
            "url": self.url,
            "update": self.update.to_json() if self.update else None,
        }


def create_request(
    h_type: str,
    properties: Properties,
    commands: dict[str, list[Any]],
    uploads: Sequence[str] = (),
) -> MicropubRequest:
    """A validated create: known type, valid commands, something to post."""
    if h_type not in H_TYPES:
        known = " and ".join(f"h-{name}" for name in H_TYPES)
        raise InvalidRequest(f"cannot create h-{h_type} posts; this server creates {known}")
    parsed = build_commands(commands, properties)
    if not properties and not uploads:
        raise InvalidRequest("nothing to post: the request has no properties")
    if parsed.photo_alt and "photo" in properties:
        properties = {**properties, "photo": pair_alt(properties["photo"], parsed.photo_alt)}
    return MicropubRequest(
        kind="create",
        h_type=h_type,
        properties=properties,
        commands=parsed,
        uploads=tuple(uploads),
    )
