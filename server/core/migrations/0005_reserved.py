"""Once made a silo's table (see 0004_reserved): kept, with nothing to do."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0004_reserved")]

    initial = False

    operations: list[object] = []
