"""apply_update: a post's properties after a Micropub update (W3C Micropub §3.4).

The first tests are micropub.rocks 400-405, with the properties its create step stores;
the rest pin the choices the spec leaves open (see micropub/updates.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.parsing import Update, apply_update, parse_json, publication_state

LOC = "https://example.test/2026/05/micropub-update-test"


def update(**operations: Any) -> Update:
    """The Update of a JSON update body with these operations."""
    body = {"action": "update", "url": LOC, **operations}
    request = parse_json(json.dumps(body).encode())
    assert request.update is not None
    return request.update


# micropub.rocks 400-405


def test_mpr_400_replace() -> None:
    """400: replace swaps all values of content."""
    old = "Micropub update test. This text should be replaced if the test succeeds."
    before = {"content": [old]}
    new = "This is the updated text. If you can see this you passed the test!"
    assert apply_update(before, update(replace={"content": [new]})) == {"content": [new]}


def test_mpr_401_add_value() -> None:
    """401: add appends test2 after the existing test1; content is untouched."""
    before = {"content": ["Micropub update test for adding a category."], "category": ["test1"]}
    after = apply_update(before, update(add={"category": ["test2"]}))
    assert after == {
        "content": ["Micropub update test for adding a category."],
        "category": ["test1", "test2"],
    }


def test_mpr_402_add_property() -> None:
    """402: add creates a property the post did not have."""
    before = {"content": ["This test adds a category property to a post."]}
    after = apply_update(before, update(add={"category": ["test1"]}))
    assert after == {
        "content": ["This test adds a category property to a post."],
        "category": ["test1"],
    }


def test_mpr_403_remove_value() -> None:
    """403: delete with an object removes the named value only."""
    before = {"content": ["This test deletes a category."], "category": ["test1", "test2"]}
    after = apply_update(before, update(delete={"category": ["test2"]}))
    assert after == {"content": ["This test deletes a category."], "category": ["test1"]}


def test_mpr_404_remove_property() -> None:
    """404: delete with an array removes the whole property; no empty key is left."""
    before = {"content": ["This test deletes the category property."], "category": ["a", "b"]}
    after = apply_update(before, update(delete=["category"]))
    assert after == {"content": ["This test deletes the category property."]}


def test_mpr_405_replace_not_an_array() -> None:
    """405: an operation that is not an object of arrays never reaches apply_update."""
    with pytest.raises(InvalidRequest):
        update(replace="This is not a valid update request.")


# Replace (§3.4.1)


def test_replace_creates_missing_property() -> None:
    """Replacing a property the post lacks creates it."""
    assert apply_update({"content": ["hi"]}, update(replace={"name": ["Title"]})) == {
        "content": ["hi"],
        "name": ["Title"],
    }


def test_replace_with_empty_array_removes_property() -> None:
    """Replacing with no values leaves no empty list behind: the property goes."""
    after = apply_update({"content": ["hi"], "category": ["a"]}, update(replace={"category": []}))
    assert after == {"content": ["hi"]}


def test_replace_keeps_property_order() -> None:
    """A replaced property keeps its place among the others."""
    before = {"name": ["Old"], "content": ["hi"], "category": ["a"]}
    after = apply_update(before, update(replace={"content": ["hello"]}))
    assert list(after) == ["name", "content", "category"]


# Add (§3.4.2)


def test_add_skips_values_already_present() -> None:
    """Adding a value the property has already does not duplicate it (retry-safe)."""
    before = {"syndication": ["https://instagram.com/p/1"]}
    after = apply_update(before, update(add={"syndication": ["https://instagram.com/p/1"]}))
    assert after == {"syndication": ["https://instagram.com/p/1"]}


def test_add_nested_object() -> None:
    """Added values may be nested mf2 objects, kept verbatim."""
    card = {"type": ["h-card"], "properties": {"name": ["Bob"], "url": ["https://bob.example/"]}}
    after = apply_update({"content": ["hi"]}, update(add={"category": [card]}))
    assert after == {"content": ["hi"], "category": [card]}


# Delete (§3.4.3)


def test_delete_last_value_removes_property() -> None:
    """Removing every value of a property removes the property."""
    after = apply_update({"content": ["hi"], "category": ["a"]}, update(delete={"category": ["a"]}))
    assert after == {"content": ["hi"]}


def test_delete_missing_property_is_no_op() -> None:
    """Deleting a property the post lacks changes nothing."""
    assert apply_update({"content": ["hi"]}, update(delete=["category"])) == {"content": ["hi"]}


def test_delete_value_not_present_is_no_op() -> None:
    """Deleting a value the property lacks changes nothing."""
    before = {"category": ["a"]}
    assert apply_update(before, update(delete={"category": ["b"], "tag": ["x"]})) == before


def test_delete_nested_object_by_equality() -> None:
    """An object value is removed when it equals the one named."""
    photo = {"value": "https://example.test/media/a.jpg", "alt": "A"}
    before = {"photo": [photo, "https://example.test/media/b.jpg"]}
    after = apply_update(before, update(delete={"photo": [dict(photo)]}))
    assert after == {"photo": ["https://example.test/media/b.jpg"]}


# Order of operations: replace, then add, then delete


def test_order_replace_then_add() -> None:
    """Add appends to the values a replace in the same request just set."""
    after = apply_update(
        {"category": ["old"]}, update(replace={"category": ["new"]}, add={"category": ["more"]})
    )
    assert after == {"category": ["new", "more"]}


def test_order_replace_then_delete_property() -> None:
    """A property both replaced and deleted ends deleted."""
    after = apply_update(
        {"content": ["hi"], "name": ["Old"]}, update(replace={"name": ["New"]}, delete=["name"])
    )
    assert after == {"content": ["hi"]}


def test_order_add_then_delete_value() -> None:
    """A value both added and deleted ends removed."""
    after = apply_update(
        {"category": ["a"]}, update(add={"category": ["b"]}, delete={"category": ["b"]})
    )
    assert after == {"category": ["a"]}


def test_all_three_operations_on_different_properties() -> None:
    """replace, add and delete combine on different properties (§3.4)."""
    before = {"content": ["old"], "category": ["a", "b"], "syndication": ["https://x.example/1"]}
    after = apply_update(
        before,
        update(
            replace={"content": ["new"]},
            add={"syndication": ["https://y.example/2"]},
            delete={"category": ["b"]},
        ),
    )
    assert after == {
        "content": ["new"],
        "category": ["a"],
        "syndication": ["https://x.example/1", "https://y.example/2"],
    }


# Purity


def test_arguments_are_not_changed() -> None:
    """apply_update changes neither the stored properties nor the update."""
    before = {"category": ["a", "b"], "content": ["hi"]}
    ops = update(replace={"content": ["new"]}, add={"category": ["c"]}, delete={"category": ["a"]})
    apply_update(before, ops)
    assert (before, ops.replace, ops.add) == (
        {"category": ["a", "b"], "content": ["hi"]},
        {"content": ["new"]},
        {"category": ["c"]},
    )


def test_result_shares_no_lists() -> None:
    """Changing the result afterwards does not reach the inputs."""
    before = {"category": ["a"]}
    ops = update(add={"tag": ["t"]})
    after = apply_update(before, ops)
    after["category"].append("z")
    after["tag"].append("z")
    assert (before, ops.add) == ({"category": ["a"]}, {"tag": ["t"]})


# Commands and post state


def test_replaced_slug_is_a_command_not_a_property() -> None:
    """replace mp-slug reports the new slug on the request and stores nothing."""
    body = {"action": "update", "url": LOC, "replace": {"mp-slug": ["new-slug"]}}
    request = parse_json(json.dumps(body).encode())
    assert request.update is not None
    assert (request.commands.slug, apply_update({"content": ["hi"]}, request.update)) == (
        "new-slug",
        {"content": ["hi"]},
    )


def test_post_status_follows_the_update() -> None:
    """publication_state of the result gives the endpoint the post's new status."""
    after = apply_update({"content": ["hi"]}, update(replace={"post-status": ["draft"]}))
    assert publication_state(after) == ("draft", None)


def test_second_post_status_is_refused() -> None:
    """Adding a post-status to a post that has one would leave two: refused."""
    with pytest.raises(InvalidRequest, match="post-status must be one value"):
        apply_update({"post-status": ["published"]}, update(add={"post-status": ["draft"]}))
