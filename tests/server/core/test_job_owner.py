"""Who holds a job's lease, and when its work may be taken back before the lease ends.

The rule (`job_queue.process_gone`): a holder on this host (same host name, boot and pid
namespace) whose pid is free, a zombie, or a later process's is gone, and its jobs are
claimable at once; a living holder keeps its lease however slow it is; a holder on another
host, or one whose start is unknown, is judged by its lease alone. Real processes (`sleep`)
stand for the holders. The end-to-end `kill -9` of `hearth serve` is in
tests/server/webmention/test_served_crash.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_queue import ProcessId
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings

pytestmark = pytest.mark.usefixtures("db")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 300.0  # the default HEARTH_JOB_LEASE_SECONDS: nothing here waits for it to run out


def process_id(pid: int) -> ProcessId:
    """The `ProcessId` a worker running as `pid` on this host would record."""
    here = job_queue.this_process()
    stat = Path(f"/proc/{pid}/stat").read_text()
    ticks = stat.rpartition(")")[2].split()[19]
    return ProcessId(here.host, pid, f"{here.machine}:{ticks}")


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


@pytest.fixture(name="living")
def living_fixture() -> Iterator[subprocess.Popen[bytes]]:
    """A process that lives through the test: a slow worker, as far as anyone can tell."""
    process = sleeper()
    yield process
    process.kill()
    process.wait()


@pytest.fixture(name="dead")
def dead_fixture() -> ProcessId:
    """The `ProcessId` of a process that ran here and was killed (and reaped)."""
    process = sleeper()
    holder = process_id(process.pid)
    process.kill()
    process.wait()
    return holder


@pytest.fixture(autouse=True)
def linux_only() -> None:
    if job_queue.this_process().machine is None:
        pytest.skip("process starts are read from Linux's /proc")


def test_this_process_is_named_by_host_pid_and_start() -> None:
    """The recorded text names this run of this process, and parses back to it."""
    here = job_queue.this_process()
    assert here == process_id(here.pid)
    assert ProcessId.parse(str(here)) == here
    assert not job_queue.process_gone(here)
    for text in (None, "", "host 12", "host x start", "a b c d"):
        assert ProcessId.parse(text) is None
        assert not job_queue.holder_gone(text)


def test_dead_pid_is_gone(dead: ProcessId) -> None:
    """Killed and reaped: its pid is free, so it is provably gone."""
    assert job_queue.process_gone(dead)
    assert job_queue.holder_gone(str(dead))


def test_living_process_is_not_gone(living: subprocess.Popen[bytes]) -> None:
    assert not job_queue.process_gone(process_id(living.pid))


def test_zombie_is_gone() -> None:
    """Killed but not yet reaped by its parent: its pid still answers, but it runs nothing."""
    process = sleeper()
    holder = process_id(process.pid)
    process.kill()
    try:
        assert _eventually(lambda: job_queue.process_gone(holder))
    finally:
        process.wait()


def test_reused_pid_is_not_mistaken_for_its_old_process(living: subprocess.Popen[bytes]) -> None:
    """The pid is alive, but started at another time: the holder that recorded it is gone."""
    now = process_id(living.pid)
    machine, _, ticks = now.start.rpartition(":")
    before = ProcessId(now.host, now.pid, f"{machine}:{int(ticks) - 1}")
    assert job_queue.process_gone(before)
    assert not job_queue.process_gone(now)


def test_other_host_boot_or_namespace_is_judged_by_lease_only(dead: ProcessId) -> None:
    """Its pid means nothing here: even a pid that is free here proves nothing."""
    machine, _, ticks = dead.start.rpartition(":")
    boot, _, namespace = machine.partition(":")
    others = [
        ProcessId("another-host", dead.pid, dead.start),
        ProcessId(dead.host, dead.pid, f"{'0' * len(boot)}:{namespace}:{ticks}"),
        ProcessId(dead.host, dead.pid, f"{boot}:1:{ticks}"),
        ProcessId(dead.host, dead.pid, job_queue.UNKNOWN_START),
    ]
    for other in others:
        assert not job_queue.process_gone(other), other


async def held_by(holder: ProcessId, worker: str = "old", now: datetime = T0) -> Job:
    """A job claimed (with the default lease) by `worker` running as `holder`."""
    await job_queue.enqueue("k", {}, key=f"job-{holder}", run_at=now)
    job = await job_queue.claim(worker, None, LEASE, now=now, process=holder)
    assert job is not None
    assert (await Job.get(id=job.id)).lease_process == str(holder)
    return job


async def test_job_of_dead_holder_is_claimable_at_once(dead: ProcessId) -> None:
    """One second later, not five minutes: the attempt stays counted, and the dead worker's
    fencing token no longer works."""
    old = await held_by(dead)
    job = await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=1))
    assert job is not None and job.id == old.id
    assert (job.attempts, job.lease_owner) == (2, "new")
    assert (await Job.get(id=job.id)).lease_process == str(job_queue.this_process())
    assert not await job_queue.complete(old, "old")
    assert await job_queue.complete(job, "new")
    done = await Job.get(id=job.id)
    assert (done.state, done.lease_owner, done.lease_process) == (JobState.DONE, None, None)


async def test_job_of_living_holder_waits_for_its_lease(living: subprocess.Popen[bytes]) -> None:
    """A slow worker is never doubled: its job is claimable only once its lease runs out."""
    old = await held_by(process_id(living.pid))
    assert await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=LEASE - 1)) is None
    assert await job_queue.extend_lease(old, "old", LEASE, now=T0 + timedelta(seconds=LEASE - 1))
    assert await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=LEASE)) is None
    taken = await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=2 * LEASE))
    assert taken is not None and taken.id == old.id


async def test_job_of_this_process_is_not_taken_back() -> None:
    """Another worker of this same process (two in one `hearth serve`) is alive."""
    await held_by(job_queue.this_process())
    assert await job_queue.take_back(now=T0) == 0
    assert await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=1)) is None


async def test_job_on_another_host_waits_for_its_lease(dead: ProcessId) -> None:
    elsewhere = ProcessId("another-host", dead.pid, dead.start)
    old = await held_by(elsewhere)
    assert await job_queue.take_back(now=T0) == 0
    assert await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=LEASE - 1)) is None
    taken = await job_queue.claim("new", None, LEASE, now=T0 + timedelta(seconds=LEASE + 1))
    assert taken is not None and taken.id == old.id


async def test_take_back_only_touches_the_kinds_asked_for(dead: ProcessId) -> None:
    old = await held_by(dead)
    assert await job_queue.take_back(["other"], now=T0) == 0
    assert await job_queue.claim("new", ["other"], LEASE, now=T0) is None
    assert await job_queue.take_back(["k"], now=T0) == 1
    assert await job_queue.take_back(["k"], now=T0) == 0  # its lease has ended already
    taken = await job_queue.claim("new", ["k"], LEASE, now=T0, take_back_first=False)
    assert taken is not None and taken.id == old.id


async def test_job_taken_back_on_its_last_attempt_goes_dead(dead: ProcessId) -> None:
    """A job that keeps killing its worker (say, out of memory) is not retried forever."""
    await job_queue.enqueue("k", {}, key="fatal", run_at=T0, max_attempts=1)
    await job_queue.claim("old", None, LEASE, now=T0, process=dead)
    assert await job_queue.claim("new", None, LEASE, now=T0) is None
    job = await Job.get(idempotency_key="fatal")
    assert job.state == JobState.DEAD
    assert "lease expired on the last attempt" in (job.last_error or "")


async def test_worker_runs_a_dead_workers_job_on_its_first_poll(
    settings: Settings, dead: ProcessId
) -> None:
    """A restarted worker (default lease) runs the orphan at once, exactly once."""
    old = await held_by(dead, now=job_queue.utcnow())
    runs: list[int] = []

    async def record(context: JobContext, payload: dict[str, object]) -> None:
        runs.append(context.job.attempts)

    worker = Worker(settings, {"k": record}, lease_seconds=LEASE)
    assert await worker.run_once()
    assert not await worker.run_once()
    assert runs == [2]
    assert (await Job.get(id=old.id)).state == JobState.DONE


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False
