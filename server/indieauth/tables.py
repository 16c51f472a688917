"""IndieAuth's tables (Tortoise app "indieauth").

(No semicolons in the model docstrings: Tortoise copies them into the SQL that makes the
tables, where one ends the statement.)

Every secret (authorization codes, refresh tokens, visitor session ids, sign-in states) is
stored as its SHA-256 only, like the core's bearer tokens: a copy of the database lets
nobody act as the owner, an app or a visitor.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from hearth.server.core.models import Token


class ClientApp(Model):
    """What an app that asked for access says about itself, for the list of apps in the admin."""

    client_id = fields.CharField(max_length=512, primary_key=True)
    name = fields.CharField(max_length=255, null=True)
    logo = fields.CharField(max_length=2048, null=True)
    url = fields.CharField(max_length=2048, null=True)
    # The redirect URIs its metadata lists (for redirect URIs on another origin).
    redirect_uris: fields.Field[list[str]] = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "indieauth_clients"


class AuthorizationCode(Model):
    """One approval by the owner, a single-use code, and what was issued for it."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True)
    client_id = fields.CharField(max_length=512)
    redirect_uri = fields.CharField(max_length=2048)
    me = fields.CharField(max_length=512)
    # The scopes the owner approved (space-separated); empty for a sign-in only.
    scope = fields.CharField(max_length=1024, default="")
    # The PKCE S256 challenge; None for an old client that sent none.
    code_challenge = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    # Set when the code or a refresh token of its chain was used twice: all is revoked.
    replayed_at = fields.DatetimeField(null=True)
    # The access token the code was exchanged for (revoked if the code is replayed).
    access_token: fields.ForeignKeyNullableRelation[Token] = fields.ForeignKeyField(
        "models.Token", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    access_token_id: int | None

    class Meta:
        table = "indieauth_codes"


class RefreshToken(Model):
    """A refresh token, used once, then replaced by the next of its chain (rotation)."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    code: fields.ForeignKeyRelation[AuthorizationCode] = fields.ForeignKeyField(
        "indieauth.AuthorizationCode", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    client_id = fields.CharField(max_length=512)
    me = fields.CharField(max_length=512)
    scope = fields.CharField(max_length=1024)
    # The access token issued together with this refresh token.
    access_token: fields.ForeignKeyNullableRelation[Token] = fields.ForeignKeyField(
        "models.Token", null=True, related_name=False, on_delete=fields.SET_NULL
    )
    access_token_id: int | None
    code_id: int
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    # Set when it was exchanged for the next one; it never works again.
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "indieauth_refresh_tokens"


class VisitorSession(Model):
    """A visitor signed in with their own site, kept after sign-out for the list in the admin."""

    id = fields.IntField(primary_key=True)
    id_hash = fields.CharField(max_length=64, unique=True)
    me = fields.CharField(max_length=512, db_index=True)
    name = fields.CharField(max_length=255, null=True)
    photo = fields.CharField(max_length=2048, null=True)
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "indieauth_visitor_sessions"


class PendingSignIn(Model):
    """A visitor's sign-in under way: what the callback needs to finish it."""

    id = fields.IntField(primary_key=True)
    state_hash = fields.CharField(max_length=64, unique=True)
    # SHA-256 of the random value in the browser's cookie: the state is bound to it.
    browser_hash = fields.CharField(max_length=64)
    me_entered = fields.CharField(max_length=512)
    code_verifier = fields.CharField(max_length=128)
    authorization_endpoint = fields.CharField(max_length=2048)
    issuer = fields.CharField(max_length=2048, null=True)
    # URLs seen while discovering `me_entered` (its redirects): a returned `me` among them
    # needs no new discovery (IndieAuth §5.4).
    seen_urls: fields.Field[list[str]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "indieauth_pending_signins"
