"""Reserved names, `mp-*` commands, and the post-status and visibility properties.

Spec: https://www.w3.org/TR/micropub/#reserved-properties (§3.2: `access_token`, `h`,
`action`, `url` and every `mp-*` name are reserved), https://www.w3.org/TR/micropub/#vocabulary
(§4: `mp-syndicate-to`). `mp-slug`, `mp-photo-alt`, `mp-destination`, `post-status` and
`visibility` are extensions: https://indieweb.org/Micropub-extensions

Commands are instructions to the server and are never stored as properties. `post-status`
and `visibility` are different: clients send them as ordinary properties (Quill's editor sends
`post-status=draft`) and read them back with `q=source` to edit them, so they stay in the
properties, and `Commands.status` / `Commands.visibility` carry the validated values for the
endpoint's status and visibility columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.types import Properties
from hearth.server.core.publication import Status, Visibility

__all__ = [
    "RESERVED",
    "Commands",
    "build_commands",
    "is_command",
    "publication_state",
    "split_properties",
]

# Keys that are never post properties (§3.2); `mp-*` names are commands on top of these.
RESERVED = frozenset({"access_token", "h", "action", "url"})

_T = TypeVar("_T")

_STATUSES: dict[str, Status] = {status.value: status for status in Status}
_VISIBILITIES: dict[str, Visibility] = {visibility.value: visibility for visibility in Visibility}


def is_command(name: str) -> bool:
    """Whether a key is an `mp-*` command (reserved in both syntaxes, §3.2)."""
    return name.startswith("mp-")


@dataclass(frozen=True)
class Commands:
    """The `mp-*` commands of a request, plus the parsed post-status and visibility."""

    # mp-slug: the path segment the client would like (None: derive one).
    slug: str | None = None
    # mp-syndicate-to: `uid`s from q=syndicate-to, in the order given.
    syndicate_to: tuple[str, ...] = ()
    # mp-photo-alt: alt text of the photo at the same index ("" leaves that one without).
    photo_alt: tuple[str, ...] = ()
    # mp-destination: the `uid` of a q=config destination (None: the default site).
    destination: str | None = None
    # The `post-status` property of a create, validated (None: not given, so the server
    # default). An update's follows from `publication_state(apply_update(...))`.
    status: Status | None = None
    # The `visibility` property of a create, validated, likewise (None: server default).
    visibility: Visibility | None = None
    # Any other mp-* command, verbatim; the endpoint ignores what it does not know.
    other: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The commands that were given, by field name (defaults left out)."""
        out: dict[str, Any] = {}
        for name in ("slug", "destination", "status", "visibility"):
            if (value := getattr(self, name)) is not None:
                out[name] = value
        for name in ("syndicate_to", "photo_alt"):
            if values := getattr(self, name):
                out[name] = list(values)
        if self.other:
            out["other"] = {key: list(values) for key, values in self.other.items()}
        return out


def split_properties(raw: Mapping[str, list[Any]]) -> tuple[Properties, dict[str, list[Any]]]:
    """Split top-level keys into post properties and `mp-*` commands; reserved keys go."""
    properties: Properties = {}
    commands: dict[str, list[Any]] = {}
    for name, values in raw.items():
        if is_command(name):
            commands.setdefault(name, []).extend(values)
        elif name not in RESERVED:
            properties[name] = values
    return properties, commands


def _strings(name: str, values: Sequence[Any]) -> list[str]:
    if not all(isinstance(value, str) for value in values):
        raise InvalidRequest(f"{name} values must be strings")
    return list(values)


def _single(name: str, values: Sequence[Any]) -> str | None:
    given = [value for value in _strings(name, values) if value]
    if len(set(given)) > 1:
        raise InvalidRequest(f"{name} takes one value, got {len(given)}")
    return given[0] if given else None


def build_commands(commands: Mapping[str, list[Any]], properties: Properties) -> Commands:
    """Validate the `mp-*` values of a request and the post-status/visibility properties."""
    status, visibility = publication_state(properties)
    known = {"mp-slug", "mp-syndicate-to", "mp-photo-alt", "mp-destination"}
    return Commands(
        slug=_single("mp-slug", commands.get("mp-slug", [])),
        syndicate_to=tuple(
            value
            for value in _strings("mp-syndicate-to", commands.get("mp-syndicate-to", []))
            if value
        ),
        # Empty alt texts are kept: they hold the place of a photo that has none.
        photo_alt=tuple(_strings("mp-photo-alt", commands.get("mp-photo-alt", []))),
        destination=_single("mp-destination", commands.get("mp-destination", [])),
        status=status,
        visibility=visibility,
        other={name: tuple(values) for name, values in commands.items() if name not in known},
    )


def _one_of(properties: Mapping[str, list[Any]], name: str, allowed: dict[str, _T]) -> _T | None:
    values = properties.get(name)
    if not values:
        return None
    choice = allowed.get(values[0]) if len(values) == 1 and isinstance(values[0], str) else None
    if choice is None:
        options = ", ".join(allowed)
        raise InvalidRequest(f"{name} must be one value out of {options}, got {values!r}")
    return choice


def publication_state(
    properties: Mapping[str, list[Any]],
) -> tuple[Status | None, Visibility | None]:
    """The validated `post-status` and `visibility` of a post (None when not given)."""
    return (
        _one_of(properties, "post-status", _STATUSES),
        _one_of(properties, "visibility", _VISIBILITIES),
    )
