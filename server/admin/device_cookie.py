"""Device cookies: a browser that signed in to the admin is known by a signed cookie.

OWASP, "Slow Down Online Guessing Attacks with Device Cookies"
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies).
Each successful sign-in gives the browser a new `hearth_device` cookie: a random device id
and an HMAC of it under the site's secret key (and a purpose label, so no other signed value
of Hearth passes for one). `ratelimit` counts a known device's failures under that device
alone, so failures of other clients never lock it out; a cookie whose signature does not
match (forged, or signed under an older secret key) is no device: that client is untrusted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from hearth.server.core.settings import Settings

COOKIE = "hearth_device"
# Only the sign-in form reads it.
COOKIE_PATH = "/admin/login"
MAX_AGE = 365 * 24 * 3600
_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def _signature(settings: Settings, device_id: str) -> str:
    key = str(settings.secret_key).encode()
    message = f"hearth-login-device|{device_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def new_cookie(settings: Settings) -> str:
    """A cookie value for a browser that has just signed in: a new device."""
    device_id = secrets.token_urlsafe(16)
    return f"{device_id}.{_signature(settings, device_id)}"


def known_device(settings: Settings, cookie: str | None) -> str | None:
    """The device id `cookie` carries if Hearth signed it, else None (an unknown client)."""
    if not cookie or len(cookie) > 128:
        return None
    device_id, _, signature = cookie.partition(".")
    if not _ID.fullmatch(device_id):
        return None
    if not hmac.compare_digest(_signature(settings, device_id).encode(), signature.encode()):
        return None
    return device_id
