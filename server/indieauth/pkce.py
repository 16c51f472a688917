"""PKCE, as IndieAuth requires it: https://indieauth.spec.indieweb.org/#authorization-request.

RFC 7636 (https://www.rfc-editor.org/rfc/rfc7636): the client sends
`code_challenge = BASE64URL(SHA256(code_verifier))` without padding (§4.2) and later proves
it holds the verifier. Only the S256 method is accepted; `plain` is refused, as IndieAuth
servers need not support it and it protects nothing once the request is seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

__all__ = ["METHOD", "matches", "new_verifier", "s256_challenge", "verifier_is_valid"]

METHOD = "S256"
# RFC 7636 §4.1: code-verifier = 43*128unreserved; unreserved = ALPHA / DIGIT / "-._~"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def s256_challenge(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(verifier))), without `=` padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_is_valid(verifier: str) -> bool:
    """Whether `verifier` is 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)."""
    return _VERIFIER.fullmatch(verifier) is not None


def matches(verifier: str, challenge: str, method: str) -> bool:
    """Whether `verifier` answers `challenge` under `method`, which must be "S256".

    The comparison takes the same time wherever the two first differ.
    """
    if method != METHOD or not verifier_is_valid(verifier):
        return False
    expected = s256_challenge(verifier).encode("ascii")
    return hmac.compare_digest(expected, challenge.encode("utf-8"))


def new_verifier() -> str:
    """A fresh random verifier: 64 characters, 384 bits from `secrets`."""
    return secrets.token_urlsafe(48)
