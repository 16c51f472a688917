"""Hearth's Tortoise engine for SQLite: Tortoise's own, with `BEGIN IMMEDIATE` transactions.

`hearth.server.core.db` names this module as the engine of the SQLite connection (with
the PRAGMAs every connection gets, `db.SQLITE_PRAGMAS`) and explains why. Tortoise picks a
connection's migration schema editor by its client's module name, which is why this
module's name says "sqlite".
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

__all__ = ["HearthSqliteClient", "client_class"]


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction on the SQLite connection that starts with `BEGIN IMMEDIATE`."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransactionWrapper(self))  # a savepoint

    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class HearthSqliteClient(SqliteClient):
    """Tortoise's SQLite client, with `BEGIN IMMEDIATE` transactions (see the module doc)."""

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


# What Tortoise looks for in an engine module.
client_class = HearthSqliteClient
