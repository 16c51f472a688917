"""Once made a silo's tables, which now come with the silo's own app and migrations.

Kept, with nothing to do, so that the numbers of the migrations after it stand. Databases
that applied it under its old name keep what it made; the silo's first migration makes the
tables only where they are missing.
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0003_webmention")]

    initial = False

    operations: list[object] = []
