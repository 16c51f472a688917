"""Migration operations Tortoise does not have (https://tortoise.github.io/migrations.html).

`CreateModelUnlessPresent` is `CreateModel` for a table that an older migration of another
app may already have made: when tables move to a feature's own app, databases made before
the move keep theirs (and their rows), new databases get them made.

`RenameModelKeepingTable` renames a model whose table is named explicitly (so the database
has nothing to do). Tortoise's own `RenameModel` re-renders only the renamed model, so the
models it points to keep the backward relations of its old name, and a related name such
as `Post.responses` then clashes with itself; this one re-renders them too.
"""

from __future__ import annotations

from copy import deepcopy

from tortoise.migrations.operations import CreateModel, RenameModel
from tortoise.migrations.schema_editor import BaseSchemaEditor
from tortoise.migrations.schema_generator.state import State

__all__ = ["CreateModelUnlessPresent", "RenameModelKeepingTable"]


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


class RenameModelKeepingTable(RenameModel):
    """Rename a model with an explicit `Meta.table`: the state changes, the table stays."""

    def state_forward(self, app_label: str, state: State) -> None:
        old_key, new_key = (app_label, self.old_name), (app_label, self.new_name)
        # Everything related to the old model, while it is still registered.
        related = state._find_related_models(*old_key) - {old_key}
        model_state = state.models.pop(old_key)
        state.apps.unregister_model(*old_key)
        model_state.name = self.new_name
        state.models[new_key] = model_state
        old_reference = f"{app_label}.{self.old_name}"
        new_reference = f"{app_label}.{self.new_name}"
        for other in state.models.values():
            for name, field in list(other.fields.items()):
                if getattr(field, "model_name", None) == old_reference:
                    renamed = deepcopy(field)
                    setattr(renamed, "model_name", new_reference)  # noqa: B010 - not in its stubs
                    other.fields[name] = renamed
        state._reload(related | {new_key})
