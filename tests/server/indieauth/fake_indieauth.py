"""A fake external IndieAuth server and a visitor's profile pages, served on 127.0.0.1.

Spec: https://indieauth.spec.indieweb.org/. One Starlette app plays the visitor's site and
their authorization server:

- profiles: `/alice/` (Link header to the metadata), `/html/` (only a relative `<link>`),
  `/legacy/` (only `rel=authorization_endpoint`), `/moved/` (301 to /alice/), `/temp/` (302
  to /alice/), `/none/` (no links), `/loop/N` (redirects to /loop/N+1 forever), `/same/`
  (another profile naming the same server), `/elsewhere/` (one naming another endpoint);
- `/metadata` (issuer, endpoints), `/auth` (GET: approves at once and redirects back with
  code, state and iss, unless told to misbehave; POST: redeems a code once, PKCE checked).

`FakeIndieAuth`'s fields say how to misbehave; `authorizations` and `redemptions` log what
was asked.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hearth.server.indieauth import pkce
from tests.server.admin.admin_helpers import csrf_in
from tests.serving import loopback_base, loopback_socket, serve_in_thread

PROFILE = {"name": "Alice Visitor", "photo": "https://alice.example/me.jpg"}


def page(links: str = "") -> str:
    return f"<!doctype html><html><head><title>A profile</title>{links}</head><body></body></html>"


@dataclass
class FakeIndieAuth:
    base: str = ""
    # The authorization response: "right", "wrong" or "none" (omitted) iss; "right" or
    # "wrong" state; an error instead of a code.
    iss: str = "right"
    state: str = "right"
    error: str | None = None
    # The redemption: "ok", "500" (an HTML error page) or "garbage" (200, not JSON).
    redeem: str = "ok"
    # The `me` it answers with: a path on this server (default: the profile asked for).
    me_path: str | None = None
    # An authorization endpoint to advertise instead of its own (a closed port, say).
    endpoint_override: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: list[dict[str, str]] = field(default_factory=list)
    redemptions: list[dict[str, str]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.base

    @property
    def endpoint(self) -> str:
        return self.endpoint_override or self.base + "auth"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/alice/", self.alice),
                Route("/html/", self.html),
                Route("/legacy/", self.legacy),
                Route("/same/", self.alice),
                Route("/elsewhere/", self.elsewhere),
                Route("/none/", self.none),
                Route("/moved/", lambda _: RedirectResponse("/alice/", 301)),
                Route("/temp/", lambda _: RedirectResponse(self.base + "alice/", 302)),
                Route("/loop/{n:int}", self.loop),
                Route("/metadata", self.metadata),
                Route("/auth", self.authorize, methods=["GET"]),
                Route("/auth", self.redeem_code, methods=["POST"]),
            ]
        )

    async def alice(self, request: Request) -> Response:
        link = f'<{self.base}metadata>; rel="indieauth-metadata"'
        # The page's own links name other things: the header wins.
        links = '<link rel="indieauth-metadata" href="/nowhere">'
        return HTMLResponse(page(links), headers={"Link": link})

    async def html(self, request: Request) -> Response:
        links = (
            '<link rel="authorization_endpoint" href="/old-auth">'
            '<link rel="indieauth-metadata" href="../metadata">'
            '<link rel="indieauth-metadata" href="/second">'
        )
        return HTMLResponse(page(links))

    async def legacy(self, request: Request) -> Response:
        return HTMLResponse(page(f'<link rel="authorization_endpoint" href="{self.endpoint}">'))

    async def elsewhere(self, request: Request) -> Response:
        return HTMLResponse(page('<link rel="authorization_endpoint" href="/other-auth">'))

    async def none(self, request: Request) -> Response:
        return HTMLResponse(page('<link rel="webmention" href="/wm">'))

    async def loop(self, request: Request) -> Response:
        return RedirectResponse(f"/loop/{request.path_params['n'] + 1}", 302)

    async def metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.endpoint,
                "token_endpoint": self.base + "token",
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        """Approve at once: back to the redirect URI with a new code."""
        params = dict(request.query_params)
        self.authorizations.append(params)
        answer: dict[str, str] = {}
        if self.error:
            answer["error"] = self.error
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {**params, "used": False}
            answer["code"] = code
        answer["state"] = params["state"] if self.state == "right" else "not-the-state"
        if self.iss != "none":
            answer["iss"] = self.issuer if self.iss == "right" else "https://evil.example/"
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(answer)}", 302)

    async def redeem_code(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        self.redemptions.append(form)
        if self.redeem == "500":
            return HTMLResponse("<h1>Internal Server Error</h1>", 500)
        if self.redeem == "garbage":
            return HTMLResponse("<h1>Welcome!</h1>", 200)
        issued = self.codes.get(form.get("code", ""))
        fits = (
            issued is not None
            and not issued["used"]
            and all(form.get(name) == issued[name] for name in ("client_id", "redirect_uri"))
        )
        if (
            not fits
            or issued is None
            or not pkce.matches(form.get("code_verifier", ""), issued["code_challenge"], "S256")
        ):
            return JSONResponse({"error": "invalid_grant"}, 400)
        issued["used"] = True
        me = self.base + self.me_path if self.me_path else issued["me"]
        return JSONResponse({"me": me, "profile": {**PROFILE, "url": me}})


@contextmanager
def serving() -> Iterator[FakeIndieAuth]:
    """A `FakeIndieAuth` served on a free port of 127.0.0.1 until the block ends."""
    sock = loopback_socket()
    fake = FakeIndieAuth(base=loopback_base(sock))
    with serve_in_thread(fake.app(), [sock]):
        yield fake


def closed_port_url() -> str:
    """The base URL of a port on 127.0.0.1 where nothing listens."""
    sock = loopback_socket()
    base = loopback_base(sock)
    sock.close()
    return base


# The visitor's browser, driving Hearth over ASGI ---------------------------------------------


async def start_signin(client: httpx.AsyncClient, me: str) -> httpx.Response:
    """Fill in and send Hearth's sign-in form (its answer is not followed)."""
    form = await client.get("/signin")
    assert 200 == form.status_code, form.text
    return await client.post("/signin", data={"csrf_token": csrf_in(form.text), "me": me})


async def approve(location: str) -> str:
    """Visit the authorization endpoint (the fake approves at once): where it sends us back."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(location)
    assert 302 == answer.status_code, answer.text
    return answer.headers["location"]


async def sign_in(client: httpx.AsyncClient, me: str) -> httpx.Response:
    """The whole flow: the form, the server's approval, Hearth's callback (its answer)."""
    started = await start_signin(client, me)
    assert 303 == started.status_code, started.text
    return await client.get(await approve(started.headers["location"]))
