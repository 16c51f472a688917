"""The database side of a verification: the row it verifies, and its outcome, each one trip.

Spec: https://www.w3.org/TR/webmention/#webmention-verification (what `verify` does between
the two); https://www.w3.org/TR/webmention/#updating-existing-webmentions (an outcome
replaces what the row said).

A verification reads its row and post once (`load`) and writes once: the outcome
(`accepted` or `settled`), its approval and thread parent, and the regrouping of the post's
responses it is grouped with (`moderation.regroup_around`), in one `core.one_trip` unit. Through
Tortoise this was six or more statements, each a trip to SQLite's thread and its query
building (issue #14: verification is the queue's busiest job); as one unit it is one trip,
one transaction, and one commit shared with the units of the verifications that end
together. Only the columns an outcome sets are written: a column set meanwhile by someone
else (the owner's approval, another job's `duplicate_of`) is not written back as read.

Units touch nothing but their arguments and rows (they may run on SQLite's thread), and
record no page change: the caller does, after the commit (`core.page_changes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hearth.server.core import one_trip
from hearth.server.core.models import Approval, Interaction, InteractionState
from hearth.server.webmention import moderation
from hearth.server.webmention.moderation import json_column, regroup_around

# Columns an accepted source sets, besides approval, parent and bookkeeping.
ACCEPTED_COLUMNS = (
    "kind", "rsvp", "author_name", "author_url", "author_photo", "content_html", "content_text",
    "url", "published", "identities", "mf2",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"identities", "mf2"})
_LOAD = (
    "SELECT r.id, r.source, r.target, r.approval, r.verified_at, p.id AS post_id,"
    " p.path AS post_path, p.short_code AS post_short_code"
    " FROM responses r JOIN posts p ON p.id = r.post_id WHERE r.id = ?"
)
_EARLIER_ACCEPTED = (
    "SELECT id, identities FROM responses WHERE post_id = ? AND id < ? AND state = ?"
    " ORDER BY id DESC"
)
_KNOWN_DOMAIN = "SELECT 1 AS known FROM responses WHERE domain = ? AND approval = ? AND id <> ?"


@dataclass(frozen=True)
class Pending:
    """A response being verified, and the post it responds to."""

    id: int
    source: str
    target: str
    approval: str
    # Whether it was ever accepted (a source that no longer links is then deleted).
    was_verified: bool
    post_id: int
    post_path: str
    post_short_code: str


async def load(response_id: int) -> Pending | None:
    """The response and its post; None if either was deleted since it was queued."""
    # A read: one statement, outside any transaction (a unit would take SQLite's write lock).
    rows = await one_trip.fetch(_LOAD, (response_id,))
    if not rows:
        return None
    row = rows[0]
    return Pending(
        id=int(row["id"]),
        source=str(row["source"]),
        target=str(row["target"]),
        approval=str(row["approval"]),
        was_verified=row["verified_at"] is not None,
        post_id=int(row["post_id"]),
        post_path=str(row["post_path"]),
        post_short_code=str(row["post_short_code"]),
    )


def _db_value(column: str, value: Any) -> Any:
    """As Tortoise writes it: JSON as its text, enums as their value."""
    if column in _JSON_COLUMNS:
        return Interaction._meta.fields_map[column].to_db_value(value, Interaction)
    return value.value if isinstance(value, Approval | InteractionState) else value


def _update(response_id: int, values: Mapping[str, Any]) -> one_trip.Statement:
    assignments, parameters = [], []
    for column, value in values.items():
        if column == "approval":
            # Decided only for a response still waiting as the row is now: the owner may
            # have approved or hidden it while the source was being fetched.
            assignments.append("approval = CASE WHEN approval = ? THEN ? ELSE approval END")
            parameters += [Approval.WAITING.value, _db_value(column, value)]
        else:
            assignments.append(f"{column} = ?")
            parameters.append(_db_value(column, value))
    sql = f"UPDATE responses SET {', '.join(assignments)} WHERE id = ?"  # noqa: S608 - our column names
    return sql, (*parameters, response_id)


def _parent(rows: one_trip.Rows, in_reply_to: Sequence[str]) -> int | None:
    """The latest earlier response whose identities this one replies to."""
    wanted = set(in_reply_to)
    for row in rows:
        if wanted & set(json_column(row["identities"]) or []):
            return int(row["id"])
    return None


def _approval(
    pending: Pending, domain: str, mode: str, rule: str | None
) -> one_trip.Unit[Approval]:
    """`moderation.approval_for`, inside the unit."""
    if pending.approval != Approval.WAITING:
        return Approval(pending.approval)
    if rule == moderation.ALLOW or mode == "all":
        return Approval.APPROVED
    if mode == "known":
        known = yield _KNOWN_DOMAIN + " LIMIT 1", (domain, Approval.APPROVED.value, pending.id)
        if known:
            return Approval.APPROVED
    return Approval.WAITING


def _accepted(
    pending: Pending,
    domain: str,
    values: Mapping[str, Any],
    in_reply_to: Sequence[str],
    mode: str,
    rule: str | None,
    dialect: str,
) -> one_trip.Unit[None]:
    approval = yield from _approval(pending, domain, mode, rule)
    parent_id = None
    if in_reply_to:
        accepted = InteractionState.ACCEPTED.value
        earlier = yield _EARLIER_ACCEPTED, (pending.post_id, pending.id, accepted)
        parent_id = _parent(earlier, in_reply_to)
    now = datetime.now(UTC)
    row = {
        **values,
        "parent_id": parent_id,
        "state": InteractionState.ACCEPTED,
        "reason": None,
        "verified_at": now,
        "approval": approval,
        "domain": domain,
        "updated_at": now,
    }
    yield _update(pending.id, row)
    yield from regroup_around(pending.post_id, pending.id, now, dialect)


async def accepted(
    pending: Pending,
    domain: str,
    values: Mapping[str, Any],
    in_reply_to: Sequence[str],
    mode: str,
    rule: str | None,
) -> None:
    """Store what the source says (`values`: `ACCEPTED_COLUMNS`), from `domain`, and whether
    it is shown (`moderation.approval_for`); `in_reply_to`: what else it replies to, which
    finds its parent among the post's earlier responses (threading)."""
    unit = _accepted(pending, domain, values, in_reply_to, mode, rule, one_trip.dialect())
    await one_trip.run(unit)


def _settled(
    pending: Pending, domain: str | None, state: InteractionState, reason: str, dialect: str
) -> one_trip.Unit[None]:
    now = datetime.now(UTC)
    row: dict[str, Any] = {"state": state, "reason": reason, "updated_at": now}
    if domain is not None:
        row["domain"] = domain
    if state == InteractionState.DELETED:
        # The author took it back: keep who and where, not what it said.
        row.update(content_html=None, content_text=None, mf2=None)
    yield _update(pending.id, row)
    yield from regroup_around(pending.post_id, pending.id, now, dialect)


async def settled(
    pending: Pending, domain: str | None, state: InteractionState, reason: str
) -> None:
    """Verification ended without an accepted response: `state` (rejected or deleted);
    `domain`: the source's after redirects, if it was fetched."""
    await one_trip.run(_settled(pending, domain, state, reason, one_trip.dialect()))
