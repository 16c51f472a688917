"""The admin's Responses page: every received response, domain rules, failed sends.

Spec: https://www.w3.org/TR/webmention/#security-considerations (a receiver MAY moderate);
the rules themselves are in `hearth.server.webmention.moderation`, the list (filters, paging,
row states) in `hearth.server.webmention.response_list`.

The page is `/admin/responses`: filtered by state (`?state=waiting` is the moderation queue)
and paged by cursor (`?before=<id>`, a `rel=next` link). Every action is a POST form carrying
the session's CSRF token (`require_admin` checks it) and answers with a 303 back to the page,
at the filter and cursor the form sent (`state`, `before`):

* `/admin/webmentions/{id}/approve`, `/hide`, `/delete`, `/block` (the response's domain:
  a block rule, and that domain's responses rejected, as a rule added by hand does);
* `/admin/webmentions/rules` adds an allow or block rule for a domain;
* `/admin/webmentions/rules/{domain}/delete` removes one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from hearth.server.admin import redirect, render_admin, require_admin
from hearth.server.core.features import AdminSection
from hearth.server.core.models import (
    AdminSession,
    Approval,
    DomainRule,
    Interaction,
    OutgoingWebmention,
)
from hearth.server.core.web import settings_of
from hearth.server.webmention import moderation, response_list

PAGE_URL = "/admin/responses"
SECTION_URL = PAGE_URL + "#webmentions"
RULES_URL = PAGE_URL + "#webmention-rules"
RECENT = 10
ACTIONS = ("approve", "hide", "delete", "block")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def page_url(state: str = "", before: int | None = None) -> str:
    """The Responses page at filter `state` and cursor `before`, at the list."""
    query = {"state": state, "before": before or ""}
    params = urlencode({key: value for key, value in query.items() if value})
    return f"{PAGE_URL}?{params}#webmentions" if params else SECTION_URL


async def load_responses(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """One page of responses at the filter and cursor of the URL, and each filter's count."""
    state = response_list.parse_filter(request.query_params.get("state"))
    before = response_list.parse_cursor(request.query_params.get("before"))
    page = await response_list.load_page(settings_of(request), state, before)
    return {
        "page": page,
        "filters": response_list.FILTERS,
        "counts": await response_list.counts(),
        "next_url": page_url(state, page.next_before) if page.next_before else None,
        "first_url": page_url(state) if before is not None else None,
    }


async def load_rules(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """The domain rules, by rule and domain."""
    return {"rules": await DomainRule.all().order_by("rule", "domain")}


async def load_failures(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """The latest outgoing webmentions that gave up, with their errors."""
    failed = OutgoingWebmention.filter(state="failed").prefetch_related("post")
    return {
        "failures": await failed.order_by("-updated_at", "-id").limit(RECENT),
        "site_url": settings_of(request).url,
    }


def _error(
    request: Request, session: AdminSession, heading: str, message: str, status_code: int
) -> HTTPResponse:
    context = {
        "heading": heading,
        "message": message,
        "signed_in": True,
        "csrf_token": session.csrf_token,
    }
    return render_admin(request, "admin/error.html", context, status_code=status_code)


@require_admin
async def moderate(request: Request, session: AdminSession) -> HTTPResponse:
    action = request.path_params["action"]
    response = await Interaction.get_or_none(id=request.path_params["response_id"])
    if response is None or action not in ACTIONS:
        return _error(request, session, "Not found", "There is no such webmention or action.", 404)
    if action == "block":
        await moderation.block_domain(response.domain)
    elif action == "delete":
        await moderation.delete_response(response)
    else:
        approval = Approval.APPROVED if action == "approve" else Approval.HIDDEN
        await moderation.set_approval(response, approval)
    form = await request.form()
    state = response_list.parse_filter(str(form.get("state") or ""))
    return redirect(page_url(state, response_list.parse_cursor(str(form.get("before") or ""))))


@require_admin
async def add_rule(request: Request, session: AdminSession) -> HTTPResponse:
    form = await request.form()
    domain = str(form.get("domain") or "").strip().lower().rstrip(".")
    rule = str(form.get("rule") or "")
    if not _DOMAIN.match(domain) or rule not in (moderation.ALLOW, moderation.BLOCK):
        message = "Give a domain name such as example.com, to allow or block."
        return _error(request, session, "Not a domain rule", message, 400)
    if rule == moderation.BLOCK:
        await moderation.block_domain(domain)
    else:
        await DomainRule.update_or_create(domain=domain, defaults={"rule": rule})
    return redirect(RULES_URL)


@require_admin
async def delete_rule(request: Request, session: AdminSession) -> HTTPResponse:
    await moderation.remove_rule(request.path_params["domain"])
    return redirect(RULES_URL)


routes = [
    Route("/admin/webmentions/rules", add_rule, methods=["POST"], name="admin_webmention_rule"),
    Route(
        "/admin/webmentions/rules/{domain}/delete",
        delete_rule,
        methods=["POST"],
        name="admin_webmention_rule_delete",
    ),
    Route(
        "/admin/webmentions/{response_id:int}/{action}",
        moderate,
        methods=["POST"],
        name="admin_webmention_moderate",
    ),
]

# Right after Posts (weight 10): the queue is what the owner comes to the admin for. The list
# keeps the id "webmentions" (its anchor) that links and redirects have always used.
SECTIONS = (
    AdminSection(
        "webmentions",
        "Received responses",
        "admin/section_webmentions.html",
        load_responses,
        weight=20,
        page="responses",
    ),
    AdminSection(
        "webmention-rules",
        "Domain rules",
        "admin/section_webmention_rules.html",
        load_rules,
        weight=21,
        page="responses",
    ),
    AdminSection(
        "webmention-failures",
        "Failed outgoing webmentions",
        "admin/section_webmention_failures.html",
        load_failures,
        weight=22,
        page="responses",
    ),
)
