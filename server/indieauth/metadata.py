"""How clients find Hearth's authorization server: the metadata document and the rel links.

Spec: https://indieauth.spec.indieweb.org/#discovery-by-clients (the metadata document,
RFC 8414 https://www.rfc-editor.org/rfc/rfc8414, at the recommended
`/.well-known/oauth-authorization-server`), with the legacy `rel=authorization_endpoint` and
`rel=token_endpoint` for older clients such as micropub.rocks. Under delegation
(`HEARTH_AUTHORIZATION_ENDPOINT`, `HEARTH_TOKEN_ENDPOINT`) the site advertises the other
server's endpoints instead, and no metadata of its own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hearth.server.core.settings import Settings
from hearth.server.core.site_links import SiteLink
from hearth.server.core.web import settings_of
from hearth.server.indieauth.indieauth_settings import indieauth
from hearth.server.indieauth.scopes import SUPPORTED

__all__ = ["AUTHORIZATION_PATH", "TOKEN_PATH", "issuer", "routes", "site_links"]

METADATA_PATH = "/.well-known/oauth-authorization-server"
AUTHORIZATION_PATH = "/indieauth/authorize"
TOKEN_PATH = "/indieauth/token"  # noqa: S105 (a path, not a secret)
INTROSPECTION_PATH = "/indieauth/introspect"
REVOCATION_PATH = "/indieauth/revoke"
USERINFO_PATH = "/indieauth/userinfo"
SPEC = "https://indieauth.spec.indieweb.org/"


def issuer(settings: Settings) -> str:
    """The `iss` of every authorization response: the site's URL, a prefix of the metadata
    URL as §4.1.1 requires."""
    return settings.url


def site_links(settings: Settings) -> list[SiteLink]:
    """What every public page advertises (Link header and `<link>` tags)."""
    delegated = indieauth(settings)
    if delegated.authorization_endpoint and delegated.token_endpoint:
        return [
            SiteLink("authorization_endpoint", delegated.authorization_endpoint),
            SiteLink("token_endpoint", delegated.token_endpoint),
        ]
    return [
        SiteLink("indieauth-metadata", METADATA_PATH),
        SiteLink("authorization_endpoint", AUTHORIZATION_PATH),
        SiteLink("token_endpoint", TOKEN_PATH),
    ]


def document(settings: Settings) -> dict[str, object]:
    return {
        "issuer": issuer(settings),
        "authorization_endpoint": settings.absolute(AUTHORIZATION_PATH),
        "token_endpoint": settings.absolute(TOKEN_PATH),
        "introspection_endpoint": settings.absolute(INTROSPECTION_PATH),
        "introspection_endpoint_auth_methods_supported": ["Bearer"],
        "revocation_endpoint": settings.absolute(REVOCATION_PATH),
        "revocation_endpoint_auth_methods_supported": ["none"],
        "userinfo_endpoint": settings.absolute(USERINFO_PATH),
        "scopes_supported": list(SUPPORTED),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": SPEC,
    }


async def metadata(request: Request) -> Response:
    settings = settings_of(request)
    if indieauth(settings).delegated:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(
        document(settings),
        headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"},
    )


routes = [Route(METADATA_PATH, metadata, methods=["GET"], name="indieauth_metadata")]
