from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0004_instagram")]

    initial = False

    operations = [
        ops.CreateModel(
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
                "app": "models",
                "pk_attr": "key",
                "table_description": "A post of an Instagram data export that is home: one row per post of the export.",
            },
            bases=["Model"],
        ),
    ]
