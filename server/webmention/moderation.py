"""Which verified responses are shown: domain rules, the moderation mode, the owner's word.

Spec: https://www.w3.org/TR/webmention/#security-considerations (a receiver MAY moderate).

`HEARTH_MODERATION` (`Settings.moderation`) sets what happens to a response that passed
verification: `all` shows it at once; `manual` keeps every one waiting for the owner;
`known` (the default) shows responses from a domain the owner approved a response from
before, and keeps a new domain's waiting. Domain rules (`DomainRule`, a domain and its
subdomains) come first: `block` rejects without fetching and hides what was shown; `allow`
shows at once. Trust follows where the content came from: a response's `domain` is its
source's until verification, then that of the final URL after redirects, which "known" and
`allow` judge; a block on the submitted or the final domain rejects (`verify`). A decision
the owner made (approved, hidden) stays through re-verification; one the owner deleted is
gone (a source that sends it again is verified as new).

Also here: the same response relayed by several routes (the author's site and a bridge
such as Bridgy) is shown once; the others get `duplicate_of` (see `regroup`).

Every verification asks for the rules of its domains, so each process keeps the rules in
memory (`domain_rule`): read again after any change made in this process (a rule saved or
deleted, `remove_rule`) and at most `RULES_MAX_AGE` seconds after one made in another (the
admin in `hearth serve`, the verification in `hearth worker`). A verification in flight
already acts on the rules read before its fetch, which takes longer than that.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.signals import Signals

from hearth.server.core import one_trip, page_changes
from hearth.server.core.models import Approval, DomainRule, Interaction, InteractionState

BLOCK = "block"
ALLOW = "allow"
BLOCKED_REASON = "the source's domain does not send webmentions to this site"
# Longest a rule changed by another process goes unseen here (see the module doc).
RULES_MAX_AGE = 1.0


def domain_of(url: str) -> str:
    """The host of `url`, lower-cased, without port: what rules and "known" compare ("" for
    a URL too malformed to have one, such as `http://[::1`)."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _with_parents(domain: str) -> list[str]:
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


class _Rules:
    """This process's copy of the domain rules (see the module doc)."""

    def __init__(self) -> None:
        self.by_domain: dict[str, str] = {}
        # The database they were read from: tests (and `hearth` commands) open new ones.
        self.client: BaseDBAsyncClient | None = None
        self.read_at = -math.inf
        # Counts changes made here: a read that overlapped one is used once, not kept.
        self.changes = 0

    def forget(self) -> None:
        self.changes += 1
        self.read_at = -math.inf

    async def current(self) -> dict[str, str]:
        client = connections.get("default")
        now = monotonic()
        if client is self.client and now - self.read_at < RULES_MAX_AGE:
            return self.by_domain
        changes = self.changes
        rows = await DomainRule.all().values_list("domain", "rule")
        by_domain = {str(domain): str(rule) for domain, rule in rows}
        if changes == self.changes:
            self.by_domain, self.client, self.read_at = by_domain, client, now
        return by_domain


_rules = _Rules()


async def _rule_changed(*_args: Any) -> None:
    _rules.forget()


for _signal in (Signals.post_save, Signals.post_delete):
    DomainRule.register_listener(_signal, _rule_changed)


async def domain_rule(domain: str) -> str | None:
    """`block`, `allow` or None for `domain`; a parent domain's rule counts, block wins."""
    by_domain = await _rules.current()
    rules = {by_domain.get(name) for name in _with_parents(domain)} if by_domain else set()
    return BLOCK if BLOCK in rules else ALLOW if ALLOW in rules else None


async def approval_for(response: Interaction, mode: str, rule: str | None) -> Approval:
    """Whether a response that just passed verification is shown (see the module doc)."""
    if response.approval != Approval.WAITING:
        return Approval(response.approval)
    if rule == ALLOW or mode == "all":
        return Approval.APPROVED
    if mode == "known":
        earlier = Interaction.filter(domain=response.domain, approval=Approval.APPROVED)
        if await earlier.exclude(id=response.id).exists():
            return Approval.APPROVED
    return Approval.WAITING


async def set_approval(response: Interaction, approval: Approval) -> None:
    """The owner approves or hides one response."""
    response.approval = approval
    await response.save(update_fields=["approval", "updated_at"])
    if response.post_id is not None:  # type: ignore[attr-defined]
        await regroup(response.post_id)  # type: ignore[attr-defined]


async def delete_response(response: Interaction) -> None:
    """The owner deletes one response: gone from its post and from the admin.

    Unlike a block, nothing stops the source from sending it again (it is then verified as
    new). Another copy of the same response, if any, is shown in its place (`regroup`).
    """
    post_id = response.post_id  # type: ignore[attr-defined]
    await response.delete()
    if post_id is not None:
        await regroup(post_id)


async def block_domain(domain: str) -> int:
    """Block `domain` and its subdomains: their responses are rejected; returns how many."""
    await DomainRule.update_or_create(domain=domain, defaults={"rule": BLOCK})
    affected = Interaction.filter(Q(domain=domain) | Q(domain__endswith="." + domain))
    post_ids = {row["post_id"] for row in await affected.values("post_id")}
    count = await affected.update(
        state=InteractionState.REJECTED, reason=BLOCKED_REASON, updated_at=datetime.now(UTC)
    )
    for post_id in post_ids - {None}:
        await regroup(post_id)
    return count


async def remove_rule(domain: str) -> None:
    """Forget the rule for `domain` (responses rejected by a block stay rejected until re-sent)."""
    try:
        await DomainRule.filter(domain=domain).delete()
    finally:
        _rules.forget()  # a query's delete sends no signal


def _rank(row: Mapping[str, Any]) -> tuple[bool, bool, int]:
    """Which copy of a response to show: approved first, then the author's own site (its
    u-url is on the source's host, where a bridge copy's points at the silo), then the
    oldest."""
    original = domain_of(row["url"] or "") == domain_of(row["source"])
    return row["approval"] != Approval.APPROVED, not original, row["id"]


_COLUMNS = "id, source, url, identities, approval, duplicate_of_id"
# The responses of a post that are shown or waiting: what duplicates are looked for among.
_GROUPABLE_AMONG = (
    f"SELECT {_COLUMNS} FROM responses WHERE post_id = ? AND state = ? AND approval <> ?"  # noqa: S608
)
_GROUPABLE = f"{_GROUPABLE_AMONG} ORDER BY id"


def duplicates(rows: one_trip.Rows) -> list[tuple[int, int | None]]:
    """(id, the copy it duplicates or None) for each row whose `duplicate_of_id` is wrong.

    Responses that share an identity (u-url, u-syndication, uid or source), directly or
    through another response, are one group; its best copy (`_rank`) is shown, the others
    point to it with `duplicate_of`.
    """
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, row in enumerate(rows):
        for identity in json_column(row["identities"]) or []:
            parent[find(i)] = find(first_with.setdefault(identity, i))
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[find(i)].append(i)
    changes = []
    for members in groups.values():
        # Most responses are alone in their group: no copy to rank.
        if len(members) == 1:
            best = rows[members[0]]["id"]
        else:
            best = rows[min(members, key=lambda i: _rank(rows[i]))]["id"]
        for i in members:
            wanted = None if rows[i]["id"] == best else best
            if rows[i]["duplicate_of_id"] != wanted:
                changes.append((int(rows[i]["id"]), None if wanted is None else int(wanted)))
    return changes


def json_column(value: Any) -> Any:
    """A JSON column as raw SQL reads it (text on SQLite, and from asyncpg), decoded."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def regroup_statements(post_id: int, now: datetime) -> one_trip.Unit[None]:
    """`regroup`, as statements of a `core.one_trip` unit (records no page change)."""
    rows = yield _GROUPABLE, (post_id, InteractionState.ACCEPTED.value, Approval.HIDDEN.value)
    for response_id, wanted in duplicates(rows):
        yield (
            "UPDATE responses SET duplicate_of_id = ?, updated_at = ? WHERE id = ?",
            (
                wanted,
                now,
                response_id,
            ),
        )


def _sharing(dialect: str, count: int) -> str:
    """SQL: the row's identities include one of `count` given ones (a parameter each)."""
    marks = ", ".join("?" for _ in range(count))
    if dialect == "sqlite":
        return f"EXISTS (SELECT 1 FROM json_each(identities) WHERE json_each.value IN ({marks}))"  # noqa: S608 - placeholders only
    return f"jsonb_exists_any(identities, ARRAY[{marks}]::text[])"


def regroup_around(
    post_id: int, response_id: int, now: datetime, dialect: str
) -> one_trip.Unit[None]:
    """`regroup_statements` for a change to one response: only the groups it was and is in.

    What a response's change can regroup is the group it was in (its best copy, and who
    pointed at that) and whatever now shares an identity with those, transitively; other
    groups stay as they are. Regrouping the whole post read and grouped every response on
    each verification: a post with thousands of responses made each new one cost thousands.
    """
    groupable = (post_id, InteractionState.ACCEPTED.value, Approval.HIDDEN.value)
    (me,) = yield "SELECT id, duplicate_of_id FROM responses WHERE id = ?", (response_id,)
    best = me["duplicate_of_id"] or response_id
    seeds = (response_id, best)  # the same twice when it was its group's best
    linked = f"{_GROUPABLE_AMONG} AND (id IN (?, ?) OR duplicate_of_id IN (?, ?))"
    rows = {int(row["id"]): row for row in (yield linked, (*groupable, *seeds, *seeds))}
    seen: set[str] = set()
    while True:
        identities = {
            str(identity)
            for row in rows.values()
            for identity in json_column(row["identities"]) or []
        } - seen
        if not identities:
            break
        seen |= identities
        found = yield (
            f"{_GROUPABLE_AMONG} AND {_sharing(dialect, len(identities))}",
            (*groupable, *sorted(identities)),
        )
        rows.update((int(row["id"]), row) for row in found)
    for changed_id, wanted in duplicates([rows[key] for key in sorted(rows)]):
        yield (
            "UPDATE responses SET duplicate_of_id = ?, updated_at = ? WHERE id = ?",
            (wanted, now, changed_id),
        )


async def regroup(post_id: int) -> None:
    """Mark duplicates among the shown-or-waiting responses to one post (see `duplicates`):
    one trip to the database."""
    # Every change to a post's responses ends here, some made with `update` (no signal).
    page_changes.changed(post_id)
    await one_trip.run(regroup_statements(post_id, datetime.now(UTC)))
