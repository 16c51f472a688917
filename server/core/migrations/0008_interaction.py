"""The received-response model is called Interaction (HTTP has the other Response)."""

from tortoise import migrations

from hearth.server.core.migration_ops import RenameModelKeepingTable


class Migration(migrations.Migration):
    dependencies = [("models", "0007_receipt_request_digest")]

    initial = False

    operations = [
        RenameModelKeepingTable(old_name="Response", new_name="Interaction"),
    ]
