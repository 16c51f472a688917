"""The process holding a first-comment claim (`InstagramMedia.comment_holder`).

Recorded with each `posting:` claim so that a worker on the same host takes the claim over
at once when that process is provably gone, instead of after the job lease. Rows claimed
before this migration have none and keep the lease rule.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("instagram", "0003_copy_holder")]

    initial = False

    operations = [
        ops.AddField(
            model_name="InstagramMedia",
            name="comment_holder",
            field=fields.CharField(null=True, max_length=512),
        ),
    ]
