from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from hearth.server.core.models import JobState
from hearth.server.core.publication import Status, Visibility
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="AdminSession",
            fields=[
                (
                    "id_hash",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                ("csrf_token", fields.CharField(max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "admin_sessions",
                "app": "models",
                "pk_attr": "id_hash",
                "table_description": "A signed-in admin browser. The cookie holds a random id, and only its hash is stored.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Job",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("kind", fields.CharField(db_index=True, max_length=64)),
                ("payload", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("idempotency_key", fields.CharField(unique=True, max_length=255)),
                (
                    "state",
                    fields.CharEnumField(
                        default=JobState.QUEUED,
                        db_index=True,
                        description="QUEUED: queued\nRUNNING: running\nDONE: done\nDEAD: dead",
                        enum_type=JobState,
                        max_length=7,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("max_attempts", fields.IntField(default=8)),
                ("run_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("lease_owner", fields.CharField(null=True, max_length=128)),
                (
                    "lease_expires_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                ("last_error", fields.TextField(null=True, unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "jobs",
                "app": "models",
                "indexes": [Index(fields=["state", "run_at"])],
                "pk_attr": "id",
                "table_description": "Durable outbound work: webmentions, WebSub pings, syndication, imports.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LoginFailure",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("address", fields.CharField(db_index=True, max_length=64)),
                ("at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "login_failures",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A failed admin sign-in, counted per client address to rate-limit and lock.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Media",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(unique=True, max_length=128)),
                ("content_type", fields.CharField(max_length=128)),
                ("size", fields.BigIntField()),
                ("sha256", fields.CharField(db_index=True, max_length=64)),
                ("original_name", fields.CharField(null=True, max_length=255)),
                (
                    "created_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
                ),
            ],
            options={
                "table": "media",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An uploaded or copied file in data_dir/media, served at /media/{name}.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Post",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("path", fields.CharField(unique=True, max_length=255)),
                ("short_code", fields.CharField(unique=True, max_length=32)),
                ("h_type", fields.CharField(default="entry", max_length=32)),
                ("properties", fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ("post_type", fields.CharField(default="note", db_index=True, max_length=32)),
                (
                    "published",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("updated", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default=Status.PUBLISHED,
                        db_index=True,
                        description="PUBLISHED: published\nDRAFT: draft",
                        enum_type=Status,
                        max_length=9,
                    ),
                ),
                (
                    "visibility",
                    fields.CharEnumField(
                        default=Visibility.PUBLIC,
                        db_index=True,
                        description="PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private",
                        enum_type=Visibility,
                        max_length=8,
                    ),
                ),
                (
                    "deleted_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("modified_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "posts",
                "app": "models",
                "indexes": [Index(fields=["status", "visibility", "deleted_at", "published"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PathRedirect",
            fields=[
                (
                    "path",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255),
                ),
                (
                    "post",
                    fields.ForeignKeyField(
                        "models.Post",
                        source_field="post_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="old_paths",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={
                "table": "path_redirects",
                "app": "models",
                "pk_attr": "path",
                "table_description": "A post's former path, answered with a redirect after its slug changed.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PostCategory",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "post",
                    fields.ForeignKeyField(
                        "models.Post",
                        source_field="post_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="category_rows",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(db_index=True, max_length=255)),
            ],
            options={
                "table": "post_categories",
                "app": "models",
                "unique_together": (("post", "name"),),
                "pk_attr": "id",
                "table_description": "One row per plain-string category of a post, so tag pages are an indexed query.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SiteSetting",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=128),
                ),
                ("value", fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
            ],
            options={
                "table": "site_settings",
                "app": "models",
                "pk_attr": "key",
                "table_description": "Owner-editable values kept in the database (password hash, h-card overrides).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Token",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("prefix", fields.CharField(max_length=16)),
                ("me", fields.CharField(max_length=512)),
                ("client_id", fields.CharField(null=True, max_length=512)),
                ("scope", fields.CharField(default="", max_length=1024)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "last_used_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "tokens",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A bearer token. Only its SHA-256 is stored, the token itself is shown once.",
            },
            bases=["Model"],
        ),
    ]
