"""Every received response, for the admin's Responses page: filtered by state, paged.

Responses are listed newest first (by id, which follows the order they arrived in) and paged
by keyset: the cursor `before` is the id of the last row shown, so a page costs one index
range however deep it is, and responses arriving meanwhile shift nothing.

A row's state is what the owner decides on (see `moderation` and `display.shown`):

* `waiting`: verified, waiting for approval (the moderation queue);
* `shown`: verified, approved and shown on its post (`duplicate` when another copy of the
  same response is shown instead);
* `hidden`: the owner hid it;
* `rejected`: verification failed, or its domain is blocked (the reason is kept);
* `pending`: not verified yet; `deleted`: its source is gone or no longer links.

The filters are `waiting`, `shown`, `hidden` and `rejected`; without one every row is listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from hearth.server.core.models import Approval, DomainRule, Interaction, InteractionState
from hearth.server.core.render import entry_view
from hearth.server.core.settings import Settings
from hearth.server.webmention import moderation

PAGE_SIZE = 50
_ACCEPTED = InteractionState.ACCEPTED
# Filter key -> (label, condition): each row's `state_of` is its filter's key.
FILTERS: Mapping[str, tuple[str, Q]] = {
    "waiting": ("Waiting for approval", Q(state=_ACCEPTED, approval=Approval.WAITING)),
    "shown": (
        "Shown",
        Q(state=_ACCEPTED, approval=Approval.APPROVED, duplicate_of_id__isnull=True),
    ),
    "hidden": ("Hidden", Q(approval=Approval.HIDDEN)),
    "rejected": (
        "Rejected or blocked",
        Q(state=InteractionState.REJECTED) & ~Q(approval=Approval.HIDDEN),
    ),
}
STATE_LABELS = {
    "waiting": "waiting for approval",
    "shown": "shown",
    "duplicate": "not shown: a copy of another response",
    "hidden": "hidden",
    "rejected": "rejected",
    "pending": "being verified",
    "deleted": "deleted by its source",
}


@dataclass(frozen=True)
class ResponseRow:
    """One response as the Responses page lists it (URLs as stored: the template escapes)."""

    response: Interaction
    author: str
    post_title: str | None
    post_url: str | None
    state: str
    # Whether the response's domain (or a parent domain) has a block rule.
    blocked: bool

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def can_approve(self) -> bool:
        """Approving means something while it is or may become verified."""
        return self.state in ("waiting", "hidden", "pending") and not self.blocked

    @property
    def can_hide(self) -> bool:
        return self.state in ("waiting", "shown", "duplicate", "pending")

    @property
    def actions(self) -> list[tuple[str, str]]:
        """The row's forms: (action, button label); always delete, block unless blocked."""
        actions = [("approve", "Approve")] if self.can_approve else []
        actions += [("hide", "Hide")] if self.can_hide else []
        actions.append(("delete", "Delete"))
        if not self.blocked:
            actions.append(("block", f"Block {self.response.domain}"))
        return actions


@dataclass(frozen=True)
class ResponsePage:
    """One page of the list: its rows, the filter, and the cursor of the next page."""

    rows: list[ResponseRow]
    state: str
    before: int | None
    next_before: int | None


def state_of(response: Interaction) -> str:
    """The row state of `response` (see the module doc)."""
    if response.approval == Approval.HIDDEN:
        return "hidden"
    if response.state != _ACCEPTED:
        return InteractionState(response.state).value
    if response.approval == Approval.WAITING:
        return "waiting"
    return "duplicate" if response.duplicate_of_id is not None else "shown"  # type: ignore[attr-defined]


def parse_filter(value: str | None) -> str:
    """A known filter key, or "" (every response)."""
    return value if value is not None and value in FILTERS else ""


def parse_cursor(value: str | None) -> int | None:
    """The id a page starts below, or None for the first page (a mangled cursor too)."""
    return int(value) if value and value.isascii() and value.isdigit() else None


def filtered(state: str) -> QuerySet[Interaction]:
    """The responses under filter `state` ("" for all)."""
    return Interaction.filter(FILTERS[state][1]) if state else Interaction.all()


async def counts() -> dict[str, int]:
    """How many responses each filter holds."""
    return {key: await filtered(key).count() for key in FILTERS}


async def blocked_domains(domains: Sequence[str]) -> set[str]:
    """Those of `domains` that a block rule covers (theirs or a parent domain's)."""
    parents = {d: [".".join(d.split(".")[i:]) for i in range(d.count(".") + 1)] for d in domains}
    wanted = {p for chain in parents.values() for p in chain}
    rules = await DomainRule.filter(domain__in=wanted, rule=moderation.BLOCK).values_list(
        "domain", flat=True
    )
    return {d for d, chain in parents.items() if set(chain) & set(rules)}


async def load_page(
    settings: Settings, state: str, before: int | None, size: int = PAGE_SIZE
) -> ResponsePage:
    """The page of filter `state` below id `before`, newest first."""
    query = filtered(state)
    if before is not None:
        query = query.filter(id__lt=before)
    found = await query.order_by("-id").limit(size + 1).prefetch_related("post")
    rows = found[:size]
    blocked = await blocked_domains(sorted({r.domain for r in rows}))
    listed = []
    for response in rows:
        post = response.post
        listed.append(
            ResponseRow(
                response=response,
                author=response.author_name
                or moderation.domain_of(response.author_url or response.url or response.source)
                or response.domain,
                post_title=entry_view(post, settings).title if post else None,
                post_url=settings.absolute(post.path) if post else None,
                state=state_of(response),
                blocked=response.domain in blocked,
            )
        )
    next_before = rows[-1].id if len(found) > size else None
    return ResponsePage(listed, state, before, next_before)
