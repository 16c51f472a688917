"""Meta webhook deliveries for tests: payloads of both shapes, signed like Meta's.

As https://developers.facebook.com/docs/instagram-platform/webhooks
and https://developers.facebook.com/docs/graph-api/webhooks/getting-started describe them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from starlette.datastructures import Secret

from hearth.server.core.models import Job
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import webhook
from hearth.syndication.instagram.silo_settings import with_instagram

APP_SECRET = "app-secret-for-tests"
VERIFY_TOKEN = "meatyhamhock"
URL = "syndication/instagram/webhook"
ACCOUNT = "17841405726653026"
KNOWN_MEDIA = "17918195224117851"


def with_webhook_secrets(settings: Settings) -> Settings:
    return with_instagram(
        settings, app_secret=Secret(APP_SECRET), verify_token=Secret(VERIFY_TOKEN)
    )


def comment_value(comment_id: str, media_id: str = KNOWN_MEDIA, text: str = "Nice!") -> Any:
    return {
        "id": comment_id,
        "from": {"id": "232323232", "username": "someone"},
        "text": text,
        "media": {"id": media_id, "media_product_type": "FEED"},
    }


def nested_payload(*values: Any, field: str = "comments") -> dict[str, Any]:
    changes = [{"field": field, "value": value} for value in values]
    return {
        "object": "instagram",
        "entry": [{"id": ACCOUNT, "time": 1520622968, "changes": changes}],
    }


def flat_payload(value: Any, field: str = "comments") -> list[dict[str, Any]]:
    entry = {"id": ACCOUNT, "time": 1520622968, "field": field, "value": value}
    return [{"object": "instagram", "entry": [entry]}]


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(
    client: httpx.AsyncClient, payload: Any, *, signature: str | None = "sign"
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature == "sign":
        headers["X-Hub-Signature-256"] = sign(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return await client.post(URL, content=body, headers=headers)


async def change_jobs() -> list[Job]:
    return await Job.filter(kind=webhook.KIND).order_by("id")
