from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from hearth.server.core.models import Approval, InteractionState
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0002_micropub")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DomainRule",
            fields=[
                (
                    "domain",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255),
                ),
                ("rule", fields.CharField(max_length=8)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "domain_rules",
                "app": "models",
                "pk_attr": "domain",
                "table_description": "Moderation by domain: responses from allowed domains show at once, blocked never.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OutgoingWebmention",
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
                        related_name="outgoing_webmentions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("target", fields.CharField(max_length=2048)),
                ("target_hash", fields.CharField(max_length=64)),
                ("state", fields.CharField(default="pending", db_index=True, max_length=16)),
                ("endpoint", fields.CharField(null=True, max_length=2048)),
                ("status_code", fields.IntField(null=True)),
                ("last_error", fields.TextField(null=True, unique=False)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "outgoing_webmentions",
                "app": "models",
                "unique_together": (("post", "target_hash"),),
                "pk_attr": "id",
                "table_description": "A webmention Hearth sends (or sent) from one of its posts to one target.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Response",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("origin", fields.CharField(default="webmention", db_index=True, max_length=32)),
                ("source", fields.CharField(max_length=2048)),
                ("target", fields.CharField(max_length=2048)),
                ("source_target_hash", fields.CharField(unique=True, max_length=64)),
                (
                    "post",
                    fields.ForeignKeyField(
                        "models.Post",
                        source_field="post_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="responses",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "state",
                    fields.CharEnumField(
                        default=InteractionState.PENDING,
                        db_index=True,
                        description="PENDING: pending\nACCEPTED: accepted\nREJECTED: rejected\nDELETED: deleted",
                        enum_type=InteractionState,
                        max_length=8,
                    ),
                ),
                ("reason", fields.TextField(null=True, unique=False)),
                (
                    "approval",
                    fields.CharEnumField(
                        default=Approval.WAITING,
                        db_index=True,
                        description="WAITING: waiting\nAPPROVED: approved\nHIDDEN: hidden",
                        enum_type=Approval,
                        max_length=8,
                    ),
                ),
                ("status_token", fields.CharField(unique=True, max_length=64)),
                ("domain", fields.CharField(db_index=True, max_length=255)),
                ("kind", fields.CharField(default="mention", db_index=True, max_length=16)),
                ("rsvp", fields.CharField(null=True, max_length=16)),
                ("author_name", fields.CharField(null=True, max_length=512)),
                ("author_url", fields.CharField(null=True, max_length=2048)),
                ("author_photo", fields.CharField(null=True, max_length=2048)),
                ("content_html", fields.TextField(null=True, unique=False)),
                ("content_text", fields.TextField(null=True, unique=False)),
                ("url", fields.CharField(null=True, max_length=2048)),
                ("published", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("identities", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                (
                    "duplicate_of",
                    fields.ForeignKeyField(
                        "models.Response",
                        source_field="duplicate_of_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="duplicates",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "parent",
                    fields.ForeignKeyField(
                        "models.Response",
                        source_field="parent_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="children",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("external_id", fields.CharField(null=True, db_index=True, max_length=128)),
                ("mf2", fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
                (
                    "verified_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "responses",
                "app": "models",
                "indexes": [Index(fields=["post_id", "state", "approval"])],
                "pk_attr": "id",
                "table_description": "A reply, like, repost, bookmark, RSVP or mention of one of the owner's posts.",
            },
            bases=["Model"],
        ),
    ]
