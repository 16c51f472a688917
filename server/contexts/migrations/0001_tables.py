from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="StoredContext",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("url_hash", fields.CharField(unique=True, max_length=64)),
                ("url", fields.CharField(max_length=2048)),
                ("name", fields.CharField(null=True, max_length=255)),
                ("author_name", fields.CharField(null=True, max_length=255)),
                ("author_url", fields.CharField(null=True, max_length=2048)),
                ("author_photo", fields.CharField(null=True, max_length=2048)),
                ("snippet", fields.TextField(null=True, unique=False)),
                ("published", fields.CharField(null=True, max_length=64)),
                ("fetched_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "link_contexts",
                "app": "contexts",
                "pk_attr": "id",
                "table_description": "What a link target said about itself when it was last fetched (name, author, snippet).",
            },
            bases=["Model"],
        ),
    ]
