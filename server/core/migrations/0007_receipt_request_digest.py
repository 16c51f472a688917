from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("models", "0006_job_postponed_since")]

    initial = False

    operations = [
        ops.AddField(
            model_name="MicropubReceipt",
            name="request_digest",
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
