"""Migration operations Tortoise does not have (https://tortoise.github.io/migrations.html).

`CreateModelUnlessPresent` is `CreateModel` for a table that an older migration of another
app may already have made: when tables move to a feature's own app, databases made before
the move keep theirs (and their rows), new databases get them made.
"""

from __future__ import annotations

from tortoise.migrations.operations import CreateModel
from tortoise.migrations.schema_editor import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State

__all__ = ["CreateModelUnlessPresent"]


class CreateModelUnlessPresent(CreateModel):
    """Create the model's table unless a table of that name exists (its state either way)."""

    async def database_forward(
        self,
        app_label: str,
        old_state: State,
        new_state: State,
        state_editor: BaseSchemaEditor | None = None,
    ) -> None:
        if state_editor is None:
            return
        table = (self.options or {}).get("table") or self.name.lower()
        if await _table_exists(state_editor, table):
            return
        await super().database_forward(app_label, old_state, new_state, state_editor)


async def _table_exists(state_editor: BaseSchemaEditor, table: str) -> bool:
    client = state_editor.client
    if client.capabilities.dialect == "sqlite":
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        query = (
            "SELECT 1 FROM information_schema.tables"
            " WHERE table_name = $1 AND table_schema = current_schema()"
        )
    rows = await client.execute_query_dict(query, [table])
    return bool(rows)
