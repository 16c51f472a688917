"""Instagram's tables, in its own app. Databases made before they moved here have them
already (the core's migrations 0004 and 0005 made them): those keep their tables and rows."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete

from hearth.server.core.migration_ops import CreateModelUnlessPresent


class Migration(migrations.Migration):
    dependencies = [("models", "0003_webmention")]

    initial = True

    operations = [
        CreateModelUnlessPresent(
            name="InstagramAccount",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("user_id", fields.CharField(unique=True, max_length=64)),
                ("username", fields.CharField(max_length=255)),
                ("access_token", fields.TextField(unique=False)),
                (
                    "token_expires_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("token_state", fields.CharField(default="ok", max_length=16)),
                ("last_error", fields.TextField(null=True, unique=False)),
                (
                    "paused_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "last_polled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "instagram_accounts",
                "app": "instagram",
                "pk_attr": "id",
                "table_description": "The one connected Instagram professional account and its long-lived token.",
            },
            bases=["Model"],
        ),
        CreateModelUnlessPresent(
            name="InstagramMedia",
            fields=[
                (
                    "media_id",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                (
                    "post",
                    fields.ForeignKeyField(
                        "models.Post",
                        source_field="post_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="instagram_media",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("permalink", fields.CharField(null=True, max_length=512)),
                ("media_type", fields.CharField(null=True, max_length=32)),
                (
                    "timestamp",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                ("caption", fields.TextField(null=True, unique=False)),
                ("like_count", fields.IntField(null=True)),
                ("comment_id", fields.CharField(null=True, max_length=64)),
                ("comment_short_code", fields.CharField(null=True, max_length=32)),
                ("copy_state", fields.CharField(default="pending", max_length=16)),
                ("last_error", fields.TextField(null=True, unique=False)),
                (
                    "comments_polled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "instagram_media",
                "app": "instagram",
                "pk_attr": "media_id",
                "table_description": "One Instagram media and its own-site copy: never two posts for one media id.",
            },
            bases=["Model"],
        ),
        CreateModelUnlessPresent(
            name="InstagramImport",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64),
                ),
                (
                    "post",
                    fields.ForeignKeyField(
                        "models.Post",
                        source_field="post_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="instagram_imports",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("source", fields.CharField(max_length=16)),
                ("published", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "instagram_imports",
                "app": "instagram",
                "pk_attr": "key",
                "table_description": "A post of an Instagram data export that is home: one row per post of the export.",
            },
            bases=["Model"],
        ),
    ]
