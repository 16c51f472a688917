"""The long-lived token, encrypted at rest: seal every token stored in plain text before.

The key comes from the site's secret key (`hearth.server.core.secrets_at_rest`), which
`hearth migrate` and `hearth serve` hand to data migrations. Run without it (Tortoise's
own migrate), the step seals nothing: reading accepts plain tokens, and the next refresh
(a day at most) stores the token sealed.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

from hearth.server.core import secrets_at_rest

PURPOSE = "instagram_accounts.access_token"


async def seal_tokens(apps: Any, schema_editor: Any) -> None:
    settings = secrets_at_rest.migration_settings()
    if settings is None:
        return
    account_model = apps.get_model("instagram", "InstagramAccount")
    client = schema_editor.client
    rows = await account_model.all().using_db(client).values_list("id", "access_token")
    for row_id, stored in rows:
        if stored and not secrets_at_rest.is_sealed(stored):
            sealed = secrets_at_rest.seal(settings, PURPOSE, stored)
            await account_model.filter(id=row_id).using_db(client).update(access_token=sealed)


async def open_tokens(apps: Any, schema_editor: Any) -> None:
    """Back to plain text (a downgrade to a Hearth that cannot read sealed tokens)."""
    settings = secrets_at_rest.migration_settings()
    if settings is None:
        return
    account_model = apps.get_model("instagram", "InstagramAccount")
    client = schema_editor.client
    rows = await account_model.all().using_db(client).values_list("id", "access_token")
    for row_id, stored in rows:
        if stored and secrets_at_rest.is_sealed(stored):
            token = secrets_at_rest.unseal(settings, PURPOSE, stored)
            await account_model.filter(id=row_id).using_db(client).update(access_token=token)


class Migration(migrations.Migration):
    dependencies = [("instagram", "0001_tables")]

    initial = False

    operations = [ops.RunPython(seal_tokens, open_tokens, atomic=True)]
