"""Micropub updates: reading the `replace`/`add`/`delete` operations and applying them.

Spec: https://www.w3.org/TR/micropub/#update (§3.4; §3.4.1 replace, §3.4.2 add,
§3.4.3 remove)

Order. The spec allows any combination of the three operations and calls the result
undefined only when two of them touch the same property and value. Hearth applies them in the
order the spec presents them: replace, then add, then delete. So `replace` + `delete` of the
same property leaves it deleted, and `add` + `delete` of the same value leaves it removed:
a delete is never undone by the operation written next to it.

Two choices where the spec is silent:

- `add` skips values the property already has, so retrying an update (say, adding a
  syndication URL) does not duplicate it.
- A property left with no values is removed, whichever operation emptied it
  (`replace: {"category": []}` included), so stored properties never hold empty lists.

`mp-*` names inside `replace`/`add` are commands, not properties: `replace: {"mp-slug":
["new"]}` asks the server to move the post, and arrives as `request.commands.slug`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hearth.micropub.commands import RESERVED, is_command, publication_state, split_properties
from hearth.micropub.errors import InvalidRequest
from hearth.micropub.request import Update
from hearth.micropub.types import Properties

__all__ = ["apply_update", "parse_update"]


def _object_of_arrays(op: str, given: Any) -> dict[str, list[Any]]:
    if not isinstance(given, dict):
        raise InvalidRequest(f"{op} must be an object of property name -> array of values")
    for name, values in given.items():
        if not isinstance(values, list):
            raise InvalidRequest(f"{op}.{name} must be an array, even for a single value")
    return given


def _delete(given: Any) -> tuple[tuple[str, ...], Properties]:
    """The array form (names) or the object form (values) of `delete`.

    mp-* and reserved names are never stored, so deleting them means nothing: dropped.
    """
    if isinstance(given, list):
        if not all(isinstance(name, str) for name in given):
            raise InvalidRequest("delete as an array must list property names (strings)")
        names = tuple(n for n in dict.fromkeys(given) if not is_command(n) and n not in RESERVED)
        return names, {}
    if isinstance(given, dict):
        return (), split_properties(_object_of_arrays("delete", given))[0]
    raise InvalidRequest("delete must be an array of property names or an object of arrays")


def parse_update(doc: Mapping[str, Any]) -> tuple[Update, dict[str, list[Any]]]:
    """The operations of a JSON update body, and the mp-* commands found in them.

    §3.4: the request MUST include replace, add or delete, and every value inside them
    MUST be an array (micropub.rocks 405 sends `"replace": "a string"` and expects 400).
    """
    if not any(op in doc for op in ("replace", "add", "delete")):
        raise InvalidRequest("an update needs replace, add or delete")
    replace, replace_commands = split_properties(
        _object_of_arrays("replace", doc.get("replace", {}))
    )
    add, add_commands = split_properties(_object_of_arrays("add", doc.get("add", {})))
    delete_properties, delete_values = _delete(doc.get("delete", []))
    # Catch a bad post-status or visibility before the endpoint looks the post up.
    publication_state(replace)
    for name in ("post-status", "visibility"):
        for value in add.get(name, []):
            publication_state({name: [value]})
    commands = {
        name: replace_commands.get(name, []) + add_commands.get(name, [])
        for name in {**replace_commands, **add_commands}
    }
    update = Update(
        replace=replace,
        add=add,
        delete_properties=delete_properties,
        delete_values=delete_values,
    )
    return update, commands


def apply_update(properties: Mapping[str, list[Any]], update: Update) -> Properties:
    """The post's new properties: replace, then add, then delete (see the module docstring).

    Pure: neither argument is changed, and the result shares no lists with them. Raises
    `InvalidRequest` if the result would have more than one post-status or visibility.
    """
    result: Properties = copy.deepcopy(dict(properties))
    for name, values in update.replace.items():
        result[name] = copy.deepcopy(values)
    for name, values in update.add.items():
        current = result.setdefault(name, [])
        for value in values:
            if value not in current:
                current.append(copy.deepcopy(value))
    for name in update.delete_properties:
        result.pop(name, None)
    for name, values in update.delete_values.items():
        if name in result:
            result[name] = [value for value in result[name] if value not in values]
    result = {name: values for name, values in result.items() if values}
    publication_state(result)
    return result
