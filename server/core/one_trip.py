"""Units of raw SQL that cost one trip to the database: the hot write paths' transactions.

Tortoise reaches SQLite through aiosqlite, which runs every call on the connection's own
thread: each statement is a trip there and back (a queue, a thread switch, a wake-up of the
event loop), about 55 µs of CPU on a small machine, more than the statement itself. A
request that reads a row, writes two and commits in Tortoise makes five or more such trips
plus the ORM's query building. Issue #14 asks the request path of a received webmention to
do the least work that keeps its guarantees; this is how.

A unit is a generator that yields statements, `(sql, parameters)` with `?` placeholders,
and is sent each statement's rows (mappings by column name); what it returns is the unit's
result. `run(unit)` runs it as one transaction, or inside the caller's as a savepoint:

- on SQLite the whole generator runs on the connection's thread, in one trip, holding the
  same lock Tortoise's own queries and transactions take on that connection (so nothing
  interleaves), with `BEGIN IMMEDIATE` as every Hearth transaction (`core.db`); units
  that arrive together share a trip and a commit (`_Batches`, group commit), each still
  all or nothing;
- on PostgreSQL each statement is awaited on Tortoise's connection in a transaction (the
  placeholders numbered `$1`, `$2` ...), so the same unit runs on both stores.

Because on SQLite the generator runs on another thread, a unit touches nothing but its own
arguments and the rows it is sent (or thread-safe objects); an exception it raises rolls
the unit back and reaches the caller. Values are passed as Tortoise passes them: datetimes
(the driver writes them as Tortoise does), JSON as text. Tortoise's model signals do not
fire: a unit records its own page changes (`core.page_changes`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Generator, Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

__all__ = ["Rows", "Statement", "Unit", "dialect", "fetch", "run"]

T = TypeVar("T")
Statement = tuple[str, Sequence[Any]]
Rows = Sequence[Mapping[str, Any]]
Unit = Generator[Statement, Rows, T]

CONNECTION = "default"


def dialect() -> str:
    """The store's SQL dialect ("sqlite" or "postgres"), for a unit whose SQL differs."""
    name: str = connections.get(CONNECTION).capabilities.dialect
    return name


async def fetch(sql: str, values: Sequence[Any]) -> list[dict[str, Any]]:
    """One read statement's rows (`?` placeholders), on the caller's connection: one trip,
    and none of an ORM query's building, for the reads every request makes."""
    client: BaseDBAsyncClient = connections.get(CONNECTION)
    if client.capabilities.dialect == "sqlite":
        rows: list[dict[str, Any]] = await client.execute_query_dict(sql, list(_stored(values)))
    else:
        rows = await client.execute_query_dict(numbered(sql), list(values))
    return rows


# Units waiting for the next batch are taken at most this many at a time.
MAX_BATCH = 64


async def run(unit: Unit[T]) -> T:
    """Run `unit` as one transaction (a savepoint inside the caller's); its result."""
    client: BaseDBAsyncClient = connections.get(CONNECTION)
    if client.capabilities.dialect != "sqlite":
        return await _run_awaiting(unit)
    if isinstance(client, TransactionalDBClient):
        return await _run_nested(client, unit)
    batches = _batches.get(client)
    if batches is None:
        batches = _batches[client] = _Batches(client)
    return await batches.submit(unit)


async def _run_nested(client: BaseDBAsyncClient, unit: Unit[T]) -> T:
    """Inside the caller's transaction: the unit as a savepoint, in one trip."""
    # The transaction's own lock: its other statements wait for ours.
    async with client.acquire_connection() as connection:
        try:
            outcome = await connection._execute(_run_nested_here, connection._conn, unit)
        except Exception as exc:  # the caller's transaction failed under it
            outcome = (False, exc)
    result: T = _result(outcome)
    return result


class _Batches:
    """Group commit on one SQLite connection.

    Units that arrive while a batch is on the database thread wait for the next one, which
    runs them all in one trip and one transaction, each in its own savepoint (so one that
    fails undoes only itself), and commits once. Under load, dozens of requests then share
    a thread switch and a commit, which SQLite's WAL writes once for all: the pages a
    response row and its job touch (two tables, a dozen indexes) are mostly the same
    pages. A unit's caller hears of it only after the commit. Alone, a unit is a batch of
    one, at once. A caller cancelled while its unit waits takes it out (nothing is stored);
    once the unit is taken for a batch, the caller still gets its outcome (see `submit`).
    """

    def __init__(self, client: BaseDBAsyncClient) -> None:
        self.client = client
        self.waiting: list[tuple[Unit[Any], asyncio.Future[Any]]] = []
        self.leader: asyncio.Task[None] | None = None

    async def submit(self, unit: Unit[T]) -> T:
        loop = asyncio.get_running_loop()
        entry: tuple[Unit[Any], asyncio.Future[_Outcome]] = (unit, loop.create_future())
        self.waiting.append(entry)
        if self.leader is None:
            # A task of its own, so a cancelled request never strands the others' batch.
            self.leader = loop.create_task(self._lead())
        try:
            outcome = await asyncio.shield(entry[1])
        except asyncio.CancelledError:
            if any(waiting is entry for waiting in self.waiting):
                self.waiting = [waiting for waiting in self.waiting if waiting is not entry]
                raise  # never ran: nothing stored
            # Taken for a batch: it cannot be stopped halfway, and its caller must not take
            # a committed unit for a failed one (a Micropub create would discard the files
            # of the post it stored). Its outcome is returned; the cancellation is raised
            # again at the caller's next await.
            outcome = await _regardless(entry[1])
            if (task := asyncio.current_task()) is not None:
                task.cancel()
        result: T = _result(outcome)
        return result

    async def _lead(self) -> None:
        batch: list[tuple[Unit[Any], asyncio.Future[Any]]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                units = [unit for unit, _done in batch]
                try:
                    # Tortoise's lock on the one connection: its queries and transactions
                    # take it too, so no statement of theirs lands in ours. It also opens
                    # the connection if nothing has yet.
                    async with self.client.acquire_connection() as connection:
                        # aiosqlite runs a callable on its thread with `_execute`.
                        outcomes = await connection._execute(_run_batch, connection._conn, units)
                except Exception as exc:
                    outcomes = [(False, exc)] * len(batch)  # every waiter hears of it
                for (_unit, done), outcome in zip(batch, outcomes, strict=True):
                    if not done.done():
                        done.set_result(outcome)
                batch = []
        finally:
            self.leader = None
            # Only when this task was cancelled (the loop closing): nobody waits forever.
            for _unit, done in batch + self.waiting:
                done.cancel()
            self.waiting = []


async def _regardless(done: asyncio.Future[_Outcome]) -> _Outcome:
    """`done`'s outcome, however often the waiting task is cancelled meanwhile (not if the
    batch itself was: the loop is closing)."""
    while not done.done():
        with suppress(asyncio.CancelledError):
            await asyncio.shield(done)
    return done.result()


_batches: weakref.WeakKeyDictionary[BaseDBAsyncClient, _Batches] = weakref.WeakKeyDictionary()
# A unit's end: (True, its result) or (False, what it raised).
_Outcome = tuple[bool, Any]


def _result(outcome: _Outcome) -> Any:
    ok, value = outcome
    if ok:
        return value
    if isinstance(value, sqlite3.IntegrityError):
        raise IntegrityError(value) from value
    if isinstance(value, sqlite3.OperationalError):
        raise OperationalError(value) from value
    raise value


def _run_batch(conn: sqlite3.Connection, units: Sequence[Unit[Any]]) -> list[_Outcome]:
    """On the SQLite connection's thread: every unit, each in a savepoint, one commit."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = [_run_nested_here(conn, unit) for unit in units]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _run_nested_here(conn: sqlite3.Connection, unit: Unit[Any]) -> _Outcome:
    """One unit in a savepoint: released, or rolled back to on an error it raised."""
    conn.execute("SAVEPOINT one_trip")
    try:
        result = _drive(unit, lambda sql, values: conn.execute(sql, _stored(values)).fetchall())
    except Exception as exc:  # handed to the unit's caller
        if not conn.in_transaction:
            raise  # SQLite ended the whole transaction (a full disk ...): the batch failed
        conn.execute("ROLLBACK TO one_trip")
        conn.execute("RELEASE one_trip")
        return False, exc
    conn.execute("RELEASE one_trip")
    return True, result


def _stored(values: Sequence[Any]) -> tuple[Any, ...]:
    # As Tortoise stores a datetime on SQLite (`str()`: "2026-12-07 08:00:00.5+00:00"), so
    # that text comparisons with its rows hold; sqlite3's own adapter is deprecated.
    return tuple(str(v) if isinstance(v, datetime) else v for v in values)


def _drive(unit: Unit[T], execute: Any) -> T:
    try:
        sql, values = next(unit)
        while True:
            sql, values = unit.send(execute(sql, values))
    except StopIteration as stop:
        value: T = stop.value
        return value


def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1`, `$2` ... (unit SQL has no literal `?`)."""
    parts = sql.split("?")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


async def _run_awaiting(unit: Unit[T]) -> T:
    """PostgreSQL: each statement awaited, all in one transaction (or savepoint)."""
    async with in_transaction(CONNECTION) as db:
        try:
            sql, values = next(unit)
            while True:
                # `execute_query` would not fetch what an INSERT ... RETURNING returns.
                rows = await db.execute_query_dict(numbered(sql), list(values))
                sql, values = unit.send(rows)
        except StopIteration as stop:
            value: T = stop.value
            return value
