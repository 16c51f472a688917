"""The dashboard's Webmentions section: the moderation queue, domain rules, failed sends.

Spec: https://www.w3.org/TR/webmention/#security-considerations (a receiver MAY moderate);
the rules themselves are in `hearth.server.webmention.moderation`.

Every action is a POST form carrying the session's CSRF token (`require_admin` checks it)
and answers with a redirect back to the section:

* `/admin/webmentions/{id}/approve`, `/hide`, `/block` (the response's domain);
* `/admin/webmentions/rules` adds an allow or block rule for a domain;
* `/admin/webmentions/rules/{domain}/delete` removes one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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
    InteractionState,
    OutgoingWebmention,
)
from hearth.server.core.web import settings_of
from hearth.server.webmention import moderation
from hearth.server.webmention.display import shown

SECTION_URL = "/admin/responses#webmentions"
QUEUE_SIZE = 50
RECENT = 10
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


async def load_webmentions(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """Responses waiting for approval, the latest shown ones, rules and failed sends."""
    waiting = Interaction.filter(state=InteractionState.ACCEPTED, approval=Approval.WAITING)
    failed = OutgoingWebmention.filter(state="failed").prefetch_related("post")
    return {
        "waiting": await waiting.order_by("-created_at", "-id").limit(QUEUE_SIZE),
        "waiting_total": await waiting.count(),
        "shown": await shown().order_by("-verified_at", "-id").limit(RECENT),
        "rules": await DomainRule.all().order_by("rule", "domain"),
        "failures": await failed.order_by("-updated_at", "-id").limit(RECENT),
        "site_url": settings_of(request).url,
    }


def _not_found(request: Request, session: AdminSession, message: str) -> HTTPResponse:
    context = {
        "heading": "Not found",
        "message": message,
        "signed_in": True,
        "csrf_token": session.csrf_token,
    }
    return render_admin(request, "admin/error.html", context, status_code=404)


@require_admin
async def moderate(request: Request, session: AdminSession) -> HTTPResponse:
    action = request.path_params["action"]
    response = await Interaction.get_or_none(id=request.path_params["response_id"])
    if response is None or action not in ("approve", "hide", "block"):
        return _not_found(request, session, "There is no such webmention or action.")
    if action == "block":
        await moderation.block_domain(response.domain)
    else:
        approval = Approval.APPROVED if action == "approve" else Approval.HIDDEN
        await moderation.set_approval(response, approval)
    return redirect(SECTION_URL)


@require_admin
async def add_rule(request: Request, session: AdminSession) -> HTTPResponse:
    form = await request.form()
    domain = str(form.get("domain") or "").strip().lower().rstrip(".")
    rule = str(form.get("rule") or "")
    if not _DOMAIN.match(domain) or rule not in (moderation.ALLOW, moderation.BLOCK):
        message = "Give a domain name such as example.com, to allow or block."
        context = {
            "heading": "Not a domain rule",
            "message": message,
            "signed_in": True,
            "csrf_token": session.csrf_token,
        }
        return render_admin(request, "admin/error.html", context, status_code=400)
    if rule == moderation.BLOCK:
        await moderation.block_domain(domain)
    else:
        await DomainRule.update_or_create(domain=domain, defaults={"rule": rule})
    return redirect(SECTION_URL)


@require_admin
async def delete_rule(request: Request, session: AdminSession) -> HTTPResponse:
    await moderation.remove_rule(request.path_params["domain"])
    return redirect(SECTION_URL)


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

# Right after Posts (weight 10): the queue is what the owner comes to the dashboard for.
SECTION = AdminSection(
    "webmentions",
    "Webmentions",
    "admin/section_webmentions.html",
    load_webmentions,
    weight=20,
    page="responses",
)
