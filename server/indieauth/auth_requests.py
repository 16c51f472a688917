"""Checking an authorization request, before anything is shown or anyone is redirected.

Spec: https://indieauth.spec.indieweb.org/#authorization-request and RFC 6749 §4.1.2.1
(https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1): while the client_id or the
redirect_uri is in doubt, the server must not redirect at all, and says what is wrong on a
page; once both are verified, every other error goes back to the client as
`error=...&state=...&iss=...`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from hearth.server.indieauth import pkce
from hearth.server.indieauth.profile_urls import client_id_error
from hearth.server.indieauth.redirects import redirect_uri_allowed
from hearth.server.indieauth.scopes import ScopeError, parse_scope

__all__ = [
    "AuthRequest",
    "ClientError",
    "RedirectError",
    "canonical_client_id",
    "check_client",
    "check_request",
]

# BASE64URL of a SHA-256 digest: 43 characters, no padding (RFC 7636 §4.2).
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "me",
)


class ClientError(Exception):
    """The client_id or redirect_uri cannot be trusted: say so on a page, never redirect."""


class RedirectError(Exception):
    """A bad request from a verified client: sent back to its redirect_uri as `error`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthRequest:
    client_id: str
    redirect_uri: str
    state: str
    scope: tuple[str, ...]
    code_challenge: str | None
    me: str | None
    # Every parameter as received, to carry through the consent form.
    raw: Mapping[str, str]


def canonical_client_id(raw: str) -> str:
    """`raw` with its scheme and host lowercased and an empty path as `/` (§3.4), so
    "https://App.example" and "https://app.example/" name one client."""
    parts = urlsplit(raw.strip())
    netloc = parts.netloc.lower() if "@" not in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def check_client(params: Mapping[str, str], *, allow_private: bool) -> tuple[str, str]:
    """The canonical client_id and the redirect_uri, if both are well formed."""
    raw_client = params.get("client_id", "").strip()
    redirect_uri = params.get("redirect_uri", "").strip()
    if not raw_client:
        raise ClientError("The request has no client_id, so there is no app to approve.")
    problem = client_id_error(raw_client, allow_private=allow_private)
    if problem:
        raise ClientError(f"The client_id {raw_client!r} is not valid. {problem}")
    if not redirect_uri:
        raise ClientError("The request has no redirect_uri, so there is nowhere to answer.")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"The redirect_uri {redirect_uri!r} is not an http(s) URL.")
    return canonical_client_id(raw_client), redirect_uri


def check_redirect(client_id: str, redirect_uri: str, listed: tuple[str, ...]) -> None:
    if not redirect_uri_allowed(client_id, redirect_uri, listed):
        raise ClientError(
            f"The app {client_id} asks to send the answer to {redirect_uri}, which is on "
            "another site and is not listed in the app's own redirect URIs. Hearth does not "
            "send your approval there: it could be someone posing as the app."
        )


def check_request(params: Mapping[str, str], client_id: str, redirect_uri: str) -> AuthRequest:
    """The whole request, once the client is verified; `RedirectError` otherwise."""
    response_type = params.get("response_type", "")
    # "id" is the response_type of sign-in only requests before 2020; it is served as code.
    if response_type not in ("code", "id"):
        raise RedirectError("unsupported_response_type", "Only response_type=code is supported.")
    state = params.get("state", "")
    if not state:
        raise RedirectError("invalid_request", "The request has no state.")
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is None and method is not None:
        raise RedirectError("invalid_request", "code_challenge_method without code_challenge.")
    if challenge is not None:
        if method != pkce.METHOD:
            raise RedirectError(
                "invalid_request", "Only code_challenge_method=S256 is supported (not plain)."
            )
        if _CHALLENGE.fullmatch(challenge) is None:
            raise RedirectError("invalid_request", "The code_challenge is not S256-shaped.")
    try:
        scope = parse_scope(params.get("scope", ""))
    except ScopeError as error:
        raise RedirectError("invalid_scope", str(error)) from None
    if response_type == "id":
        scope = ()  # sign-in only: no access token
    raw = {name: params[name] for name in FIELDS if params.get(name)}
    return AuthRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        state=state,
        scope=scope,
        code_challenge=challenge,
        me=params.get("me") or None,
        raw=raw,
    )
