"""Finishing a visitor's sign-in: https://indieauth.spec.indieweb.org/#authorization-response

The callback's answer is checked in order: an `error` from the server, `iss` (the same
string as the metadata's `issuer`, when metadata was used: RFC 9207), a `code`. The code is
redeemed at the authorization endpoint for the profile only
(https://indieauth.spec.indieweb.org/#profile-url-response), with the PKCE verifier. The
returned `me` must be a valid profile URL, and when it is none of the URLs seen while
discovering the entered one, discovery on it must name the same server
(https://indieauth.spec.indieweb.org/#differing-user-profile-urls).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import orjson

from hearth.server.core.http import fetch
from hearth.server.core.settings import Settings
from hearth.server.indieauth.client_document import client_id, redirect_uri
from hearth.server.indieauth.discovery import (
    FETCH_ERRORS,
    DiscoveryFailed,
    discover,
    fetch_failure,
    http_url,
)
from hearth.server.indieauth.profile_urls import ProfileUrlError, canonical_profile_url
from hearth.server.indieauth.tables import PendingSignIn

__all__ = ["SignInFailed", "SignedIn", "finish"]

MAX_BYTES = 64 * 1024
TOTAL_TIMEOUT = 15.0
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


class SignInFailed(Exception):
    """The sign-in cannot finish; the message says why, for the visitor."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SignedIn:
    me: str
    name: str | None
    photo: str | None


def _server_error(params: Mapping[str, str]) -> SignInFailed:
    error = params.get("error", "")
    if error == "access_denied":
        return SignInFailed("The sign-in was declined at your IndieAuth server.")
    named = f" ({error})" if _ERROR_CODE.fullmatch(error) else ""
    return SignInFailed(f"Your IndieAuth server could not sign you in{named}.")


async def finish(
    client: httpx.AsyncClient, settings: Settings, pending: PendingSignIn, params: Mapping[str, str]
) -> SignedIn:
    """The signed-in visitor the callback's `params` prove, or `SignInFailed`."""
    if "error" in params:
        raise _server_error(params)
    if pending.issuer is not None and params.get("iss") != pending.issuer:
        raise SignInFailed(
            "The answer did not come from the IndieAuth server your site names (its 'iss'"
            " is missing or different), so it cannot be trusted."
        )
    code = params.get("code")
    if not code:
        raise SignInFailed("Your IndieAuth server sent you back without a sign-in code.")
    document = await _redeem(client, settings, pending, code)
    me = await _verified_me(client, settings, pending, document.get("me"))
    return SignedIn(me, *_profile(document.get("profile")))


async def _redeem(
    client: httpx.AsyncClient, settings: Settings, pending: PendingSignIn, code: str
) -> dict[str, object]:
    """POST the code to the authorization endpoint; its JSON answer."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client_id(settings),
        "redirect_uri": redirect_uri(settings),
        "code_verifier": pending.code_verifier,
    }
    endpoint = pending.authorization_endpoint
    try:
        response = await fetch(
            client, "POST", endpoint, data=form, headers={"Accept": "application/json"},
            max_bytes=MAX_BYTES, total_timeout=TOTAL_TIMEOUT, follow_redirects=False,
        )  # fmt: skip
    except FETCH_ERRORS as error:
        raise SignInFailed(str(fetch_failure(endpoint, error)), status=502) from None
    try:
        document = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        document = None
    host = urlsplit(endpoint).netloc  # (discovery checked it parses)
    if 400 <= response.status_code < 500 and isinstance(document, dict) and "error" in document:
        raise SignInFailed(
            f"{host} refused the sign-in code: it may have expired or been used already."
            " Please sign in again."
        )
    if response.status_code != 200:
        raise SignInFailed(
            f"{host} answered with an error (HTTP {response.status_code}).", status=502
        )
    if not isinstance(document, dict) or not isinstance(document.get("me"), str):
        raise SignInFailed(
            f"{host} answered with something that is not a sign-in result.", status=502
        )
    return document


async def _verified_me(
    client: httpx.AsyncClient, settings: Settings, pending: PendingSignIn, returned: object
) -> str:
    """The canonical `me`, once the server is known to speak for it."""
    allow_private = bool(settings.allowed_private_networks)
    text = returned if isinstance(returned, str) else ""
    try:
        if not text.lower().startswith(("http://", "https://")):
            raise ProfileUrlError("not an absolute URL")
        me = canonical_profile_url(text, allow_private=allow_private)
    except ProfileUrlError:
        raise SignInFailed("Your IndieAuth server answered with an invalid profile URL.") from None
    if me == pending.me_entered or me in pending.seen_urls:
        return me
    try:
        other = await discover(client, me)
    except DiscoveryFailed as error:
        message = f"Your server says you are {me}, which could not be checked: {error}"
        raise SignInFailed(message) from None
    if (other.authorization_endpoint, other.issuer) != (
        pending.authorization_endpoint,
        pending.issuer,
    ):
        raise SignInFailed(
            f"Your IndieAuth server says you are {me}, but that site names another IndieAuth"
            " server, so the answer cannot be trusted."
        )
    return me


def _profile(value: object) -> tuple[str | None, str | None]:
    """(name, photo) from the answer's `profile`, each None when missing or unusable."""
    if not isinstance(value, dict):
        return None, None
    name = value.get("name")
    name = (" ".join(name.split())[:255] or None) if isinstance(name, str) else None
    photo = value.get("photo")
    return name, http_url(photo)
