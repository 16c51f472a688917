"""query_source: the q=source answer (W3C Micropub §3.7.2, micropub.rocks 602 and 603)."""

from __future__ import annotations

from hearth.micropub.parsing import query_source

STORED = {
    "content": ["Test of querying the endpoint for the source content"],
    "category": ["micropub", "test"],
    "post-status": ["published"],
}


def test_all_properties_include_type() -> None:
    """With nothing requested the answer is the whole item, type included (602)."""
    assert query_source(STORED, "entry") == {"type": ["h-entry"], "properties": STORED}


def test_requested_properties_only() -> None:
    """properties[] narrows the answer to those properties, without type (603, Example 23)."""
    answer = query_source(STORED, "entry", ["content", "category"])
    assert answer == {
        "properties": {
            "content": ["Test of querying the endpoint for the source content"],
            "category": ["micropub", "test"],
        }
    }


def test_requested_order_and_duplicates() -> None:
    """Requested properties come back in the order asked, each once."""
    answer = query_source(STORED, "entry", ["category", "content", "category"])
    assert list(answer["properties"]) == ["category", "content"]


def test_requested_missing_property_is_left_out() -> None:
    """A requested property the post lacks is absent, not an empty list."""
    assert query_source(STORED, "entry", ["name"]) == {"properties": {}}


def test_empty_request_means_all() -> None:
    """An empty properties[] list is the same as none."""
    assert query_source(STORED, "entry", []) == query_source(STORED, "entry")


def test_event_type() -> None:
    """An h-event answers with its own type."""
    assert query_source({"name": ["HWC"]}, "event")["type"] == ["h-event"]


def test_plain_content_stays_a_string() -> None:
    """Content written as text is a plain string, not {"value": ...} (602 checks this)."""
    answer = query_source({"content": ["plain"]}, "entry")
    assert answer["properties"]["content"] == ["plain"]


def test_html_content_is_an_html_object() -> None:
    """Content written as HTML comes back as {"html": ...}."""
    answer = query_source({"content": [{"html": "<p>Hi</p>"}]}, "entry")
    assert answer["properties"]["content"] == [{"html": "<p>Hi</p>"}]


def test_value_only_content_becomes_a_string() -> None:
    """Stored {"value": text} content without HTML is given back as the plain string."""
    answer = query_source({"content": [{"value": "text"}]}, "entry")
    assert answer["properties"]["content"] == ["text"]


def test_nested_objects_and_numbers_kept() -> None:
    """Nested mf2 objects come back as stored, numbers still numbers (204)."""
    card = {"type": ["h-card"], "properties": {"name": ["Los Gorditos"], "latitude": [45.5]}}
    assert query_source({"checkin": [card]}, "entry")["properties"] == {"checkin": [card]}


def test_never_returns_token_commands_or_empty_lists() -> None:
    """access_token, mp-* and empty properties never appear, whatever is stored (802)."""
    stored = {"content": ["hi"], "access_token": ["t"], "mp-slug": ["s"], "category": []}
    assert query_source(stored, "entry") == {"type": ["h-entry"], "properties": {"content": ["hi"]}}


def test_answer_is_a_copy() -> None:
    """Changing the answer does not change the stored properties."""
    stored = {"category": ["a"]}
    query_source(stored, "entry")["properties"]["category"].append("b")
    assert stored == {"category": ["a"]}
