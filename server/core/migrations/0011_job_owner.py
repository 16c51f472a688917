from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0010_post_search")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Job",
            name="lease_process",
            field=fields.CharField(null=True, max_length=512),
        ),
    ]
