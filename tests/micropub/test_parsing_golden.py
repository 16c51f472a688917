"""Golden files: every request body in data/ parses to the request recorded next to it.

`data/<case>.form|.json|.multipart` is the body (see micropub_cases for how each is read);
`data/<case>.expected.json` is `MicropubRequest.to_json()`, or, for a request that must be
refused, `data/<case>.error.json` is `{"status": ..., **error.to_json()}`.

The `mpr-NNN-*` cases are micropub.rocks' server tests, bodies as the tester sends them
(`mpr-105` is the retired form photo-with-alt test, kept for its `photo[alt]` syntax); the
`type-*` cases are one per post type. There is no regeneration switch: expected files were
written once and read by eye, and a deliberate change edits them by hand, diff reviewed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from hearth.micropub.errors import MicropubError
from hearth.server.core import post_types
from tests.micropub.micropub_cases import DATA, OUTPUT_SUFFIXES, Case, load_cases, parse_case

CASES = load_cases()
TYPE_CASES = [case for case in CASES if case.name.startswith("type-")]


def _recorded(case: Case) -> tuple[str, Any]:
    for kind in ("expected", "error"):
        target = DATA / f"{case.name}.{kind}.json"
        if target.exists():
            return kind, json.loads(target.read_text())
    raise AssertionError(f"{case.path.name} has no .expected.json or .error.json beside it")


RECORDED = {case.name: _recorded(case) for case in CASES}


async def _actual(case: Case) -> tuple[str, Any]:
    try:
        return "expected", (await parse_case(case)).to_json()
    except MicropubError as exc:
        return "error", {"status": exc.status, **exc.to_json()}


@pytest.mark.parametrize("case", CASES, ids=[case.path.name for case in CASES])
async def test_golden(case: Case) -> None:
    """The body parses to exactly the recorded request (or the recorded error)."""
    assert await _actual(case) == RECORDED[case.name]


def test_golden_cases_are_unambiguous() -> None:
    """Each case name has one input, and every expected file has its input."""
    names = [case.name for case in CASES]
    assert sorted(set(names)) == sorted(names)
    outputs = [
        path.name.rsplit(".", 2)[0]
        for path in DATA.iterdir()
        if path.name.endswith(OUTPUT_SUFFIXES)
    ]
    assert sorted(names) == sorted(outputs)


def test_golden_covers_micropub_rocks_and_post_types() -> None:
    """The micropub.rocks bodies and one create per post type are all present."""
    numbers = {case.name.split("-")[1] for case in CASES if case.name.startswith("mpr-")}
    assert {
        "100", "101", "104", "105", "107", "200", "201", "202", "203", "204", "205", "206",
        "300", "301", "400", "401", "402", "403", "404", "405", "500", "501", "502", "503",
    } <= numbers  # fmt: skip
    assert {
        "note", "article", "photo", "video", "audio", "reply", "like", "repost", "bookmark",
        "quotation", "checkin", "event", "rsvp",
    } <= {case.name.split("-")[1] for case in TYPE_CASES}  # fmt: skip


@pytest.mark.parametrize("case", TYPE_CASES, ids=[case.path.name for case in TYPE_CASES])
async def test_type_case_discovers_as_named(case: Case) -> None:
    """Post type discovery on the parsed create gives the type the case is named after."""
    request = await parse_case(case)
    assert request.h_type is not None
    assert post_types.discover(request.h_type, request.properties) == case.name.split("-")[1]
