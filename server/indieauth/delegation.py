"""Trusting another IndieAuth server: tokens it issued are checked at its token endpoint.

Spec: https://indieauth.spec.indieweb.org/20201126/#access-token-verification (the legacy
GET verification that tokens.indieauth.com and Indiekit speak): `GET token_endpoint` with
`Authorization: Bearer <token>` and `Accept: application/json` answers 200 with
`{"me", "client_id", "scope"}` for a valid token, and 400, 401 or 403 for one that is not.
Some servers answer form-encoded (`me=...&scope=...`); that is read too when the content
type says so.

With `HEARTH_TOKEN_ENDPOINT` set (`IndieAuthSettings.delegated`), `delegated_verifier`
gives the app its token check (`Feature.token_verifier`, read by Micropub and the media
endpoint from `app.state.token_verifier`):

1. Hearth's own tokens (`hearth token create`) are tried first and keep working.
2. Any other token is asked about at the token endpoint, through the app's shared guarded
   client (`state.http`, there once the lifespan has started), within `TIMEOUT_SECONDS`
   for the whole exchange and `MAX_ANSWER_BYTES`; redirects are not followed (the token
   would go with them), a redirect is a misconfigured endpoint.
3. The answer's `me` must be an http(s) URL on Hearth's own host and port
   (`me_is_on_site`); a token for someone else's site is not valid here.
4. A valid answer becomes an unsaved `Token`, so Micropub's scope checks apply unchanged.
5. Answers are cached in memory, keyed by the token's SHA-256 (never the token): valid
   ones for `VALID_SECONDS`, refusals for `INVALID_SECONDS`, at most `CACHE_ENTRIES`.
6. An endpoint that cannot be reached, times out, answers 5xx, 429 or anything else that
   is not an answer about the token, or a 200 that cannot be read, raises
   `VerificationUnavailable` (Micropub answers 503). That is never cached, never a pass.

The token never appears in a log line or an exception message.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from time import monotonic
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from hearth.server.core.http import fetch
from hearth.server.core.models import Token
from hearth.server.core.settings import Settings
from hearth.server.core.tokens import (
    TokenVerifier,
    VerificationUnavailable,
    hash_token,
    normalize_scope,
    verify_token,
)
from hearth.server.indieauth.indieauth_settings import indieauth

__all__ = [
    "CACHE_ENTRIES",
    "INVALID_SECONDS",
    "MAX_ANSWER_BYTES",
    "TIMEOUT_SECONDS",
    "VALID_SECONDS",
    "AnswerCache",
    "Grant",
    "delegated_verifier",
    "me_is_on_site",
]

log = logging.getLogger(__name__)

# The whole exchange with the token endpoint, connection and redirects included.
TIMEOUT_SECONDS = 10.0
# How long an answer is trusted: a valid token (so a revoked one stops working within two
# minutes), and a refused one (shorter: a token just issued may be refused by a lagging
# replica, and a client retrying should not wait long).
VALID_SECONDS = 120.0
INVALID_SECONDS = 15.0
CACHE_ENTRIES = 1024
# A verification answer is a few hundred bytes.
MAX_ANSWER_BYTES = 64 * 1024

# Statuses that say "this token is not valid" (the spec's 400, 401 and 403).
_REFUSED = frozenset({400, 401, 403})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Grant:
    """What the token endpoint says a valid token grants."""

    me: str
    client_id: str | None
    scope: str


class AnswerCache:
    """The token endpoint's answers by token hash: a `Grant`, or None for a refused token.

    Bounded: the least recently used entry goes first. Expired entries are dropped as
    they are found.
    """

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[float, Grant | None]] = OrderedDict()

    def get(self, key: str) -> tuple[bool, Grant | None]:
        """(found, answer): `found` is False when nothing live is cached for `key`."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires, answer = entry
        if expires <= monotonic():
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, answer

    def put(self, key: str, answer: Grant | None, seconds: float) -> None:
        self._entries[key] = (monotonic() + seconds, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _site_port(scheme: str, port: int | None) -> int | None:
    """The port, None when it is the scheme's default (so http and https sites compare)."""
    return None if port is None or port == _DEFAULT_PORTS.get(scheme) else port


def me_is_on_site(me: str, site_url: str) -> bool:
    """Whether `me` is an http(s) URL on the host and port of `site_url`.

    The scheme may differ (a profile URL given as http:// for an https:// site); the host
    is compared case-insensitively and a default port counts as no port. A URL with a
    user name or password is no profile URL.
    """
    site = urlsplit(site_url)
    try:
        parts = urlsplit(me)
        port = parts.port
        site_port = site.port
    except ValueError:
        return False
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    return parts.hostname.lower() == (site.hostname or "").lower() and _site_port(
        parts.scheme.lower(), port
    ) == _site_port(site.scheme.lower(), site_port)


def _answer_fields(response: httpx.Response) -> dict[str, Any]:
    """The fields of a 200 answer, form-encoded or JSON; `ValueError` if it is neither."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    # The parsers' own messages may quote the body, which is not logged: ours say enough.
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qs(response.content.decode("utf-8"), strict_parsing=True)
        except ValueError:
            raise ValueError("the answer is not form-encoded") from None
        return {name: values[0] for name, values in pairs.items()}
    # JSON by default: some servers send it as text/plain or without a content type.
    try:
        fields = json.loads(response.content)
    except ValueError:
        raise ValueError("the answer is not JSON") from None
    if not isinstance(fields, dict):
        raise ValueError("the answer is not a JSON object")
    return fields


def _grant(fields: dict[str, Any]) -> Grant:
    """The grant a 200 answer describes; `ValueError` if it does not describe one."""
    me = fields.get("me")
    if not isinstance(me, str) or not me:
        raise ValueError("the answer has no me")
    client_id = fields.get("client_id")
    if client_id is not None and not isinstance(client_id, str):
        raise ValueError("the answer's client_id is not a string")
    scope = fields.get("scope", "")
    if isinstance(scope, list) and all(isinstance(item, str) for item in scope):
        scope = " ".join(scope)
    if not isinstance(scope, str):
        raise ValueError("the answer's scope is not a string")
    return Grant(me=me, client_id=client_id or None, scope=normalize_scope(scope))


def _token_row(grant: Grant, key: str) -> Token:
    """An unsaved token row, as Micropub reads its own (`scopes`, `client_id`; receipts are
    filed under `token_hash`)."""
    return Token(
        token_hash=key, prefix="", me=grant.me, client_id=grant.client_id, scope=grant.scope
    )


def delegated_verifier(settings: Settings, state: Any) -> TokenVerifier | None:
    """The token check for delegation, or None when Hearth is its own server."""
    config = indieauth(settings)
    if not config.delegated or config.token_endpoint is None:
        return None
    endpoint = config.token_endpoint
    cache = AnswerCache()

    async def ask(token: str) -> Grant | None:
        """The endpoint's answer about `token`: a grant, None if refused; or raises."""
        client = getattr(state, "http", None)
        if client is None:
            raise VerificationUnavailable("the app's HTTP client is not running")
        try:
            response = await fetch(
                client,
                "GET",
                endpoint,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                total_timeout=TIMEOUT_SECONDS,
                max_bytes=MAX_ANSWER_BYTES,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            # Only the kind of failure is told: the exception's request carries the token,
            # so it is not chained either.
            log.warning("token endpoint %s failed: %s", endpoint, type(exc).__name__)
            raise VerificationUnavailable(
                f"the token endpoint did not answer ({type(exc).__name__})"
            ) from None
        if response.status_code in _REFUSED:
            return None
        if response.status_code != 200:
            log.warning("token endpoint %s answered %s", endpoint, response.status_code)
            raise VerificationUnavailable(f"the token endpoint answered {response.status_code}")
        try:
            return _grant(_answer_fields(response))
        except ValueError as exc:
            log.warning("token endpoint %s gave an unusable answer: %s", endpoint, exc)
            raise VerificationUnavailable("the token endpoint's answer is unusable") from None

    async def verify(token: str) -> Token | None:
        if not token:
            return None
        own = await verify_token(token)
        if own is not None:
            return own
        key = hash_token(token)
        found, grant = cache.get(key)
        if not found:
            grant = await ask(token)
            if grant is not None and not me_is_on_site(grant.me, settings.url):
                log.info("token endpoint %s vouched for %s, not this site", endpoint, grant.me)
                grant = None
            cache.put(key, grant, VALID_SECONDS if grant is not None else INVALID_SECONDS)
        return None if grant is None else _token_row(grant, key)

    return verify
