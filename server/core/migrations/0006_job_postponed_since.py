from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0005_reserved")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Job",
            name="postponed_since",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
