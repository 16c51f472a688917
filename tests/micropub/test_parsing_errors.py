"""Requests the parser refuses: each raises InvalidRequest (invalid_request, HTTP 400).

One behaviour per test. Spec: https://www.w3.org/TR/micropub/ (§3.1.1 syntax, §3.3 create,
§3.4 update, §3.5 delete, §3.8 errors).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.parsing import MicropubRequest, parse_form, parse_json

LOC = "https://example.test/2026/05/a-post"


def form(body: str, files: tuple[str, ...] = ()) -> MicropubRequest:
    return parse_form(parse_qsl(body, keep_blank_values=True), files)


def as_json(doc: Any) -> MicropubRequest:
    return parse_json(json.dumps(doc).encode())


def entry(**properties: Any) -> dict[str, Any]:
    return {"type": ["h-entry"], "properties": properties}


def test_invalid_request_is_status_400() -> None:
    """A parse refusal carries the spec code invalid_request and HTTP status 400."""
    with pytest.raises(InvalidRequest) as caught:
        parse_json(b"{")
    assert (caught.value.status, caught.value.to_json()["error"]) == (400, "invalid_request")


# JSON syntax (§3.3.2)


def test_json_malformed() -> None:
    """A body that is not JSON is refused."""
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_json(b'{"type": ["h-entry"], "properties": {')


def test_json_empty_body() -> None:
    """An empty body is not JSON either."""
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_json(b"")


def test_json_invalid_utf8() -> None:
    """Bytes that are not UTF-8 are refused (Micropub is UTF-8 only, §2.1)."""
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        parse_json(b'{"type": ["h-entry"], "properties": {"content": ["\xff"]}}')


def test_json_not_an_object() -> None:
    """A JSON array or string at the top level is refused."""
    with pytest.raises(InvalidRequest, match="must be a JSON object"):
        parse_json(b'[{"type": ["h-entry"]}]')


def test_json_property_value_not_array() -> None:
    """Every property value MUST be an array, even a single one (§3.3.2)."""
    with pytest.raises(InvalidRequest, match=r"properties\.content must be an array"):
        as_json(entry(content="hello"))


def test_json_nested_property_value_not_array() -> None:
    """Inside a nested mf2 object the values must be arrays too (§3.3.3)."""
    card = {"type": ["h-card"], "properties": {"name": "Los Gorditos"}}
    with pytest.raises(InvalidRequest, match=r"checkin\.properties\.name must be an array"):
        as_json(entry(checkin=[card]))


def test_json_nested_type_not_array() -> None:
    """A nested mf2 object's type must be an array of strings."""
    with pytest.raises(InvalidRequest, match="type must be an array"):
        as_json(entry(checkin=[{"type": "h-card", "properties": {}}]))


def test_json_nested_properties_not_object() -> None:
    """A nested mf2 object's properties must be an object."""
    with pytest.raises(InvalidRequest, match="properties must be an object"):
        as_json(entry(checkin=[{"type": ["h-card"], "properties": ["Los Gorditos"]}]))


def test_json_type_not_array() -> None:
    """The item type is an array with one mf2 type."""
    with pytest.raises(InvalidRequest, match="type must be an array"):
        as_json({"type": "h-entry", "properties": {"content": ["hi"]}})


def test_json_two_types() -> None:
    """An item with two types cannot be created."""
    with pytest.raises(InvalidRequest, match="type must be an array with one"):
        as_json({"type": ["h-entry", "h-cite"], "properties": {"content": ["hi"]}})


def test_json_unsupported_type() -> None:
    """Only h-entry and h-event posts can be created."""
    with pytest.raises(InvalidRequest, match="cannot create h-card"):
        as_json({"type": ["h-card"], "properties": {"name": ["Alice"]}})


def test_json_missing_properties() -> None:
    """A JSON create needs a properties object."""
    with pytest.raises(InvalidRequest, match="needs a properties object"):
        as_json({"type": ["h-entry"]})


def test_json_properties_not_object() -> None:
    """The properties of a JSON create are an object, not an array."""
    with pytest.raises(InvalidRequest, match="needs a properties object"):
        as_json({"type": ["h-entry"], "properties": [["content", "hi"]]})


def test_json_nothing_to_post() -> None:
    """A create whose properties are all commands or reserved has nothing to post."""
    with pytest.raises(InvalidRequest, match="nothing to post"):
        as_json(entry(**{"mp-slug": ["x"], "access_token": ["t"]}))


# post-status and visibility (extensions; stored as properties)


def test_post_status_unknown_value() -> None:
    """post-status is published or draft."""
    with pytest.raises(InvalidRequest, match="post-status must be one value out of"):
        as_json(entry(content=["hi"], **{"post-status": ["pending"]}))


def test_post_status_two_values() -> None:
    """post-status takes exactly one value."""
    with pytest.raises(InvalidRequest, match="post-status must be one value"):
        as_json(entry(content=["hi"], **{"post-status": ["draft", "published"]}))


def test_visibility_unknown_value_form() -> None:
    """visibility is public, unlisted or private, in a form too."""
    with pytest.raises(InvalidRequest, match="visibility must be one value out of"):
        form("h=entry&content=hi&visibility=secret")


def test_post_status_unknown_value_form() -> None:
    """A form post-status outside published/draft is refused."""
    with pytest.raises(InvalidRequest, match="post-status"):
        form("h=entry&content=hi&post-status=scheduled")


# Commands


def test_mp_slug_two_values() -> None:
    """mp-slug takes one value."""
    with pytest.raises(InvalidRequest, match="mp-slug takes one value"):
        form("h=entry&content=hi&mp-slug=a&mp-slug=b")


def test_mp_syndicate_to_not_strings() -> None:
    """mp-syndicate-to values are uid strings."""
    with pytest.raises(InvalidRequest, match="mp-syndicate-to values must be strings"):
        as_json(entry(content=["hi"], **{"mp-syndicate-to": [{"uid": "x"}]}))


# Actions in JSON (§3.4, §3.5)


def test_json_unknown_action() -> None:
    """An action other than update, delete or undelete is refused."""
    with pytest.raises(InvalidRequest, match="unknown action 'publish'"):
        as_json({"action": "publish", "url": LOC})


def test_json_action_not_string() -> None:
    """The action is a string."""
    with pytest.raises(InvalidRequest, match="unknown action"):
        as_json({"action": ["delete"], "url": LOC})


@pytest.mark.parametrize("action", ["update", "delete", "undelete"])
def test_json_action_missing_url(action: str) -> None:
    """Every action names the post it acts on."""
    with pytest.raises(InvalidRequest, match="needs the url"):
        as_json({"action": action, "replace": {"content": ["x"]}})


def test_json_action_url_not_string() -> None:
    """The url of an action is a string."""
    with pytest.raises(InvalidRequest, match="needs the url"):
        as_json({"action": "delete", "url": [LOC]})


def test_update_without_operations() -> None:
    """An update MUST include replace, add or delete (§3.4)."""
    with pytest.raises(InvalidRequest, match="needs replace, add or delete"):
        as_json({"action": "update", "url": LOC})


def test_update_replace_not_object() -> None:
    """replace is an object of arrays; micropub.rocks 405 sends a string."""
    with pytest.raises(InvalidRequest, match="replace must be an object"):
        as_json({"action": "update", "url": LOC, "replace": "This is not a valid update request."})


def test_update_replace_value_not_array() -> None:
    """Each value inside replace MUST be an array (§3.4)."""
    with pytest.raises(InvalidRequest, match=r"replace\.content must be an array"):
        as_json({"action": "update", "url": LOC, "replace": {"content": "hello moon"}})


def test_update_add_not_object() -> None:
    """add is an object of arrays, not an array."""
    with pytest.raises(InvalidRequest, match="add must be an object"):
        as_json({"action": "update", "url": LOC, "add": ["category", "test2"]})


def test_update_add_value_not_array() -> None:
    """Each value inside add MUST be an array."""
    with pytest.raises(InvalidRequest, match=r"add\.category must be an array"):
        as_json({"action": "update", "url": LOC, "add": {"category": "test2"}})


def test_update_add_nested_value_not_array() -> None:
    """A nested mf2 object added by an update has array values too."""
    card = {"type": ["h-card"], "properties": {"name": "Alice"}}
    with pytest.raises(InvalidRequest, match=r"add\.author\.properties\.name must be an array"):
        as_json({"action": "update", "url": LOC, "add": {"author": [card]}})


def test_update_delete_string() -> None:
    """delete is an array of names or an object of arrays, not a string."""
    with pytest.raises(InvalidRequest, match="delete must be an array of property names"):
        as_json({"action": "update", "url": LOC, "delete": "category"})


def test_update_delete_array_of_non_strings() -> None:
    """The array form of delete lists property names."""
    with pytest.raises(InvalidRequest, match="must list property names"):
        as_json({"action": "update", "url": LOC, "delete": [["category"]]})


def test_update_delete_object_value_not_array() -> None:
    """The object form of delete maps names to arrays of values."""
    with pytest.raises(InvalidRequest, match=r"delete\.category must be an array"):
        as_json({"action": "update", "url": LOC, "delete": {"category": "test2"}})


def test_update_replace_bad_post_status() -> None:
    """An update cannot set post-status to an unknown value."""
    with pytest.raises(InvalidRequest, match="post-status"):
        as_json({"action": "update", "url": LOC, "replace": {"post-status": ["hidden"]}})


def test_update_add_bad_visibility() -> None:
    """An update cannot add an unknown visibility."""
    with pytest.raises(InvalidRequest, match="visibility"):
        as_json({"action": "update", "url": LOC, "add": {"visibility": ["friends"]}})


# Form syntax (§3.1.1, §3.2, §3.3, §3.5)


def test_form_action_update() -> None:
    """Updates are JSON only, so a form action=update is refused (§3.4)."""
    with pytest.raises(InvalidRequest, match="updates must be sent as JSON"):
        form(f"action=update&url={LOC}&replace[content]=x")


def test_form_unknown_action() -> None:
    """A form action other than delete or undelete is refused."""
    with pytest.raises(InvalidRequest, match="unknown action 'archive'"):
        form(f"action=archive&url={LOC}")


def test_form_delete_missing_url() -> None:
    """A form delete names the post."""
    with pytest.raises(InvalidRequest, match="action=delete needs the url"):
        form("action=delete")


def test_form_delete_two_urls() -> None:
    """A form delete names one post."""
    with pytest.raises(InvalidRequest, match="url takes one value"):
        form(f"action=delete&url={LOC}&url={LOC}-2")


def test_form_unsupported_h() -> None:
    """h=card cannot be created; the message names the type."""
    with pytest.raises(InvalidRequest, match="cannot create h-card posts"):
        form("h=card&name=Alice")


def test_form_two_h_values() -> None:
    """h takes one value."""
    with pytest.raises(InvalidRequest, match="h takes one value"):
        form("h=entry&h=event&name=x")


def test_form_nested_brackets() -> None:
    """location[latitude] is refused: form encoding has no nested objects (§3.1.1)."""
    with pytest.raises(InvalidRequest, match=r"'location\[latitude\]' is not supported"):
        form("h=entry&content=hi&location[latitude]=45.5&location[longitude]=-122.6")


def test_form_numeric_index() -> None:
    """category[0] is refused: §3.1.1 says foo[0] is not supported."""
    with pytest.raises(InvalidRequest, match="send nested values as JSON"):
        form("h=entry&content=hi&category[0]=test1&category[1]=test2")


def test_form_deep_brackets() -> None:
    """x-weight[properties][num] is refused; a nested mf2 object needs JSON."""
    with pytest.raises(InvalidRequest, match="is not supported"):
        form("h=entry&x-weight[type]=h-measure&x-weight[properties][num]=70.64")


def test_form_command_with_subkey() -> None:
    """Commands take no embedded-value keys: mp-slug[value] is refused."""
    with pytest.raises(InvalidRequest, match="is not supported"):
        form("h=entry&content=hi&mp-slug[value]=x")


def test_form_alt_without_value() -> None:
    """photo[alt] describes a photo[value]; alone it is refused."""
    with pytest.raises(InvalidRequest, match=r"photo\[alt\] needs a photo\[value\]"):
        form("h=entry&content=hi&photo[alt]=A+sunset")


def test_form_repeated_embedded_key() -> None:
    """Two photo[value] keys are ambiguous; several photos with alt text need JSON."""
    with pytest.raises(InvalidRequest, match="is repeated"):
        form("h=entry&photo[value]=https://a.example/1.jpg&photo[value]=https://a.example/2.jpg")


def test_form_nothing_to_post() -> None:
    """A form create with no properties at all is refused."""
    with pytest.raises(InvalidRequest, match="nothing to post"):
        form("h=entry&access_token=abc&content=")


def test_form_upload_with_unknown_part_name() -> None:
    """A file part must be photo, video or audio; checked before anything is stored."""
    with pytest.raises(InvalidRequest, match="files are accepted as photo, video, audio"):
        form("h=entry&content=hi", files=("file",))
