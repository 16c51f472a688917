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
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.expressions import Q

from hearth.server.core import page_changes
from hearth.server.core.models import Approval, DomainRule, Interaction, InteractionState

BLOCK = "block"
ALLOW = "allow"
BLOCKED_REASON = "the source's domain does not send webmentions to this site"


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


async def domain_rule(domain: str) -> str | None:
    """`block`, `allow` or None for `domain`; a parent domain's rule counts, block wins."""
    rules = {rule.rule for rule in await DomainRule.filter(domain__in=_with_parents(domain))}
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
    await DomainRule.filter(domain=domain).delete()


def _rank(row: dict[str, Any]) -> tuple[bool, bool, int]:
    """Which copy of a response to show: approved first, then the author's own site (its
    u-url is on the source's host, where a bridge copy's points at the silo), then the
    oldest."""
    original = domain_of(row["url"] or "") == domain_of(row["source"])
    return row["approval"] != Approval.APPROVED, not original, row["id"]


async def regroup(post_id: int) -> None:
    """Mark duplicates among the shown-or-waiting responses to one post.

    Responses that share an identity (u-url, u-syndication, uid or source), directly or
    through another response, are one group; its best copy (`_rank`) is shown, the others
    point to it with `duplicate_of`.
    """
    # Every change to a post's responses ends here, some made with `update` (no signal).
    page_changes.changed(post_id)
    rows = (
        await Interaction.filter(post_id=post_id, state=InteractionState.ACCEPTED)
        .exclude(approval=Approval.HIDDEN)
        .order_by("id")
        .values("id", "source", "url", "identities", "approval", "duplicate_of_id")
    )
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, row in enumerate(rows):
        for identity in row["identities"] or []:
            parent[find(i)] = find(first_with.setdefault(identity, i))
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[find(i)].append(i)
    for members in groups.values():
        best = rows[min(members, key=lambda i: _rank(rows[i]))]["id"]
        for i in members:
            wanted = None if rows[i]["id"] == best else best
            if rows[i]["duplicate_of_id"] != wanted:
                changed = {"duplicate_of_id": wanted, "updated_at": datetime.now(UTC)}
                await Interaction.filter(id=rows[i]["id"]).update(**changed)
