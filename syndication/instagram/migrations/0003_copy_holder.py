from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("instagram", "0002_seal_tokens"), ("models", "0011_job_owner")]

    initial = False

    operations = [
        ops.AddField(
            model_name="InstagramMedia",
            name="copy_holder",
            field=fields.CharField(null=True, max_length=512),
        ),
    ]
