from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0008_interaction")]

    initial = True

    operations = [
        ops.CreateModel(
            name="AuthorizationCode",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code_hash", fields.CharField(unique=True, max_length=64)),
                ("client_id", fields.CharField(max_length=512)),
                ("redirect_uri", fields.CharField(max_length=2048)),
                ("me", fields.CharField(max_length=512)),
                ("scope", fields.CharField(default="", max_length=1024)),
                ("code_challenge", fields.CharField(null=True, max_length=128)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "replayed_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "access_token",
                    fields.ForeignKeyField(
                        "models.Token",
                        source_field="access_token_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
            ],
            options={
                "table": "indieauth_codes",
                "app": "indieauth",
                "pk_attr": "id",
                "table_description": "One approval by the owner, a single-use code, and what was issued for it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ClientApp",
            fields=[
                (
                    "client_id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=512),
                ),
                ("name", fields.CharField(null=True, max_length=255)),
                ("logo", fields.CharField(null=True, max_length=2048)),
                ("url", fields.CharField(null=True, max_length=2048)),
                (
                    "redirect_uris",
                    fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
                ),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "indieauth_clients",
                "app": "indieauth",
                "pk_attr": "client_id",
                "table_description": "What an app that asked for access says about itself, for the list of apps in the admin.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PendingSignIn",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("state_hash", fields.CharField(unique=True, max_length=64)),
                ("browser_hash", fields.CharField(max_length=64)),
                ("me_entered", fields.CharField(max_length=512)),
                ("code_verifier", fields.CharField(max_length=128)),
                ("authorization_endpoint", fields.CharField(max_length=2048)),
                ("issuer", fields.CharField(null=True, max_length=2048)),
                ("seen_urls", fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "indieauth_pending_signins",
                "app": "indieauth",
                "pk_attr": "id",
                "table_description": "A visitor's sign-in under way: what the callback needs to finish it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RefreshToken",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                (
                    "code",
                    fields.ForeignKeyField(
                        "indieauth.AuthorizationCode",
                        source_field="code_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="refresh_tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("client_id", fields.CharField(max_length=512)),
                ("me", fields.CharField(max_length=512)),
                ("scope", fields.CharField(max_length=1024)),
                (
                    "access_token",
                    fields.ForeignKeyField(
                        "models.Token",
                        source_field="access_token_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name=False,
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "indieauth_refresh_tokens",
                "app": "indieauth",
                "pk_attr": "id",
                "table_description": "A refresh token, used once, then replaced by the next of its chain (rotation).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="VisitorSession",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("id_hash", fields.CharField(unique=True, max_length=64)),
                ("me", fields.CharField(db_index=True, max_length=512)),
                ("name", fields.CharField(null=True, max_length=255)),
                ("photo", fields.CharField(null=True, max_length=2048)),
                ("csrf_token", fields.CharField(max_length=64)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
                ),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "indieauth_visitor_sessions",
                "app": "indieauth",
                "pk_attr": "id",
                "table_description": "A visitor signed in with their own site, kept after sign-out for the list in the admin.",
            },
            bases=["Model"],
        ),
    ]
