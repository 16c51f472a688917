"""The job queue on PostgreSQL: the whole queue and worker suites, plus several worker processes.

Skipped unless HEARTH_TEST_DATABASE_URL names a PostgreSQL database, e.g.
postgres://postgres:postgres@127.0.0.1:5432/hearth_test. The tests work in their own schema,
dropped, recreated and migrated once per run, so reruns start clean and other tables are left
alone; each test starts with an empty `jobs` table.

Run as a script, this module is one worker process of the multi-process test (see `child`).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from hearth.server.core import job_queue
from hearth.server.core.db import connect, migrate
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Job
from hearth.server.core.settings import Settings
from tests.server.core import (
    test_job_batches,
    test_job_owner,
    test_job_queue,
    test_job_worker,
    test_job_worker_batches,
)
from tests.server.core.job_processes import run_together
from tests.server.core.test_job_batches import statements_fixture  # noqa: F401 - a fixture
from tests.server.core.test_job_owner import (  # noqa: F401 - its fixtures, for its tests
    dead_fixture,
    linux_only,
    living_fixture,
)

URL_VARIABLE = "HEARTH_TEST_DATABASE_URL"
SCHEMA = "hearth_test_jobs"
REPO = Path(__file__).resolve().parents[3]
PROCESSES = 4
JOBS = 200

pytestmark = pytest.mark.usefixtures("db")

# Tests whose child processes open the SQLite file in the data dir (this module has its own
# processes test).
SQLITE_ONLY = {
    "test_sigterm_stops_worker_process_and_releases_job",
    "test_worker_processes_on_sqlite_never_run_a_job_twice",
    # SQLite's query plan (PostgreSQL keeps its own pick).
    "test_a_claim_reads_the_queue_index_not_every_job",
}
# Every queue, batch, worker and lease-holder test again, here on PostgreSQL (through the
# fixtures below, and the holder and batch tests' own, imported above).
globals().update(
    (name, test)
    for module in (
        test_job_queue,
        test_job_worker,
        test_job_owner,
        test_job_batches,
        test_job_worker_batches,
    )
    for name, test in vars(module).items()
    if name.startswith("test_") and inspect.iscoroutinefunction(test) and name not in SQLITE_ONLY
)


def in_schema(url: str) -> str:
    """The URL with Tortoise's `schema` option, which sets the connections' search_path."""
    return f"{url}{'&' if '?' in url else '?'}schema={SCHEMA}"


async def recreate_schema(url: str, data_dir: Path) -> None:
    async with connect(Settings(data_dir=data_dir, database_url=url), run_migrations=False):
        await connections.get("default").execute_script(
            f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};"
        )
    await migrate(Settings(data_dir=data_dir, database_url=in_schema(url)))


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test schema's URL, the schema freshly made for this run (on its own event loop)."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"set {URL_VARIABLE}=postgres://user:pass@host:5432/db to run this")
    if not Settings(database_url=url).is_postgres:
        pytest.skip(f"{URL_VARIABLE} is not a PostgreSQL URL")
    asyncio.run(recreate_schema(url, tmp_path_factory.mktemp("pg")))
    return in_schema(url)


@pytest.fixture(name="settings")
def settings_fixture(pg_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=pg_url)


@pytest.fixture(name="db")
async def db_fixture(settings: Settings) -> AsyncIterator[None]:
    """The test schema with an empty jobs table, open for this test only."""
    async with connect(settings, run_migrations=False):
        await connections.get("default").execute_script("TRUNCATE jobs RESTART IDENTITY")
        yield


async def test_lost_enqueue_race_leaves_callers_transaction_usable_on_postgres(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A duplicate INSERT does not abort the caller's PostgreSQL transaction (savepoint)."""
    first = await job_queue.enqueue("k", {}, key="dup")
    real = Job.get_or_none
    missed: list[bool] = []

    async def get_or_none(**filters: Any) -> Job | None:
        # The first lookup misses, as if another enqueue inserted the key just after it.
        if not missed:
            missed.append(True)
            return None
        return await real(**filters)

    monkeypatch.setattr(Job, "get_or_none", get_or_none)
    async with in_transaction():
        again = await job_queue.enqueue("k", {}, key="dup")
        other = await job_queue.enqueue("k", {}, key="other")
    assert again.id == first.id
    assert await Job.filter(id=other.id).exists()


async def wait_until_drained() -> None:
    """Return once no job is queued or running."""
    while True:
        counts = await job_queue.job_counts()
        if counts["queued"] + counts["running"] == 0:
            return
        await asyncio.sleep(0.05)


async def test_worker_processes_never_run_a_job_twice(settings: Settings, tmp_path: Path) -> None:
    """Several `hearth worker`-like processes draining one queue run each job exactly once."""
    ids = [(await job_queue.enqueue("record", {}, key=f"job-{n}")).id for n in range(JOBS)]
    assert settings.database_url is not None
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outputs = [tmp_path / f"process-{n}.txt" for n in range(PROCESSES)]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            settings.database_url,
            str(output),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for output in outputs
    ]
    await run_together(children)
    runs = [line.split() for output in outputs for line in output.read_text().splitlines()]
    assert sorted(int(job_id) for job_id, _ in runs) == sorted(ids)
    assert len({worker for _, worker in runs}) > 1
    assert await job_queue.job_counts() == {"queued": 0, "running": 0, "done": JOBS, "dead": 0}


async def child(url: str, output: Path) -> None:
    """One worker process: wait for "go", then run jobs until the queue is drained."""
    settings = Settings(data_dir=output.parent, database_url=url)
    worker_id = f"process-{os.getpid()}"
    async with connect(settings, run_migrations=False):
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        with output.open("a") as sink:

            async def record(context: JobContext, payload: dict[str, Any]) -> None:
                await asyncio.sleep(random.random() * 0.002)
                sink.write(f"{context.job.id} {worker_id}\n")
                sink.flush()

            worker = Worker(
                settings, {"record": record}, worker_id=worker_id, poll_interval=0.02, concurrency=4
            )
            stop = asyncio.Event()
            run = asyncio.create_task(worker.run(stop))
            await wait_until_drained()
            stop.set()
            await run


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], Path(sys.argv[2])))
