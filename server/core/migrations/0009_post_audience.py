"""Who private posts are shared with: one PostAudience row per canonical audience URL.

The data step fills the table for private posts stored before it existed, from their
`audience` property, so their audience can see them from the first start after upgrading.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from hearth.server.core.audience import audience_urls


async def fill_audience(apps: Any, schema_editor: Any) -> None:
    """Rows for the audience of every stored private post (a new table: nothing to undo)."""
    post_model = apps.get_model("models", "Post")
    audience_model = apps.get_model("models", "PostAudience")
    client = schema_editor.client
    rows = (
        await post_model.filter(visibility="private")
        .using_db(client)
        .values_list("id", "properties")
    )
    for post_id, properties in rows:
        for url in sorted(audience_urls(properties or {})):
            await audience_model.create(post_id=post_id, url=url, using_db=client)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_interaction")]

    initial = False

    operations = [
        ops.CreateModel(
            name="PostAudience",
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
                        related_name="audience_rows",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("url", fields.CharField(db_index=True, max_length=512)),
            ],
            options={
                "table": "post_audience",
                "app": "models",
                "unique_together": (("post", "url"),),
                "pk_attr": "id",
                "table_description": "One row per person a private post is shared with, so who may see what is indexed.",
            },
            bases=["Model"],
        ),
        ops.RunPython(fill_audience, atomic=True),
    ]
