"""The periodic-job scheduler: when each kind of schedule next runs (across days, months, DST and time
zones), and that workers ticking at once enqueue each due run exactly once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import OperationalError, connection
from django_tasks import task
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from loopcrm.core import schedule
from loopcrm.core.models import PeriodicRun
from loopcrm.core.schedule import Daily, Every, Job, Monthly, tick

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CALLS: list[dict] = []
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def at(*args, zone=UTC) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


@task()
def remember(tag: str = "") -> str:
    CALLS.append({"task": tag})
    return tag


def plain_job(tag: str = "") -> int:
    CALLS.append({"plain": tag})
    return len(CALLS)


HERE = "tests.core.test_schedule"


# --- when ----------------------------------------------------------------------------------------

def test_every_n_minutes_runs_on_the_multiples_strictly_after():
    assert Every(1).next_after(at(2026, 1, 1, 10, 0, 30), UTC) == at(2026, 1, 1, 10, 1)
    assert Every(1).next_after(at(2026, 1, 1, 10, 1), UTC) == at(2026, 1, 1, 10, 2)
    assert Every(10).next_after(at(2026, 1, 1, 10, 5), UTC) == at(2026, 1, 1, 10, 10)
    assert Every(10).next_after(at(2026, 12, 31, 23, 55), UTC) == at(2027, 1, 1, 0, 0)
    with pytest.raises(ValueError):
        Every(0)


def test_daily_at_a_local_time_crosses_the_day_in_the_zone():
    # 02:00 in Shanghai is 18:00 UTC the day before.
    nightly = Daily(2, 0)
    assert nightly.next_after(at(2026, 1, 31, 17, 59), SHANGHAI) == at(2026, 1, 31, 18, 0)
    assert nightly.next_after(at(2026, 1, 31, 18, 0), SHANGHAI) == at(2026, 2, 1, 18, 0)
    assert nightly.next_after(at(2026, 2, 1, 12, 0), SHANGHAI) == at(2026, 2, 1, 18, 0)
    assert Daily(2, 0).next_after(at(2026, 1, 31, 17, 59), UTC) == at(2026, 2, 1, 2, 0)


def test_daily_runs_once_on_the_days_clocks_change():
    job = Daily(2, 30)
    # Spring forward (29 March 2026): 02:30 does not exist; it runs at 03:30 CEST (01:30 UTC), once.
    spring = job.next_after(at(2026, 3, 28, 12, 0), BERLIN)
    assert spring == at(2026, 3, 29, 1, 30)
    assert job.next_after(spring, BERLIN) == at(2026, 3, 30, 0, 30)
    # Fall back (25 October 2026): 02:30 happens twice; it runs at the first (00:30 UTC), once.
    autumn = job.next_after(at(2026, 10, 24, 12, 0), BERLIN)
    assert autumn == at(2026, 10, 25, 0, 30)
    assert job.next_after(autumn, BERLIN) == at(2026, 10, 26, 1, 30)


def test_monthly_on_a_day_short_months_use_their_last_day():
    job = Monthly(day=31, hour=3)
    assert job.next_after(at(2026, 1, 31, 4, 0, zone=SHANGHAI), SHANGHAI) == at(2026, 2, 28, 3, 0, zone=SHANGHAI)
    assert job.next_after(at(2026, 2, 28, 3, 0, zone=SHANGHAI), SHANGHAI) == at(2026, 3, 31, 3, 0, zone=SHANGHAI)
    assert job.next_after(at(2028, 2, 1, zone=SHANGHAI), SHANGHAI) == at(2028, 2, 29, 3, 0, zone=SHANGHAI)
    first = Monthly(day=1, hour=3)
    assert first.next_after(at(2026, 12, 1, 4, 0, zone=SHANGHAI), SHANGHAI) == at(2027, 1, 1, 3, 0, zone=SHANGHAI)
    # 03:00 on the 1st in Shanghai is still the previous month in UTC.
    assert first.next_after(at(2026, 4, 30, 18, 59), SHANGHAI) == at(2026, 4, 30, 19, 0)
    with pytest.raises(ValueError):
        Monthly(day=32)


# --- claims --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.mark.django_db
def test_a_new_job_waits_for_its_first_occurrence_then_runs_once_per_occurrence(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    jobs = [Job("t", f"{HERE}.remember", Every(10), {"tag": "x"})]
    assert tick(jobs, now=at(2026, 1, 1, 10, 5)).enqueued == []
    assert PeriodicRun.objects.get(name="t").due_at == at(2026, 1, 1, 10, 10)
    assert tick(jobs, now=at(2026, 1, 1, 10, 9, 59)).enqueued == []
    assert tick(jobs, now=at(2026, 1, 1, 10, 10), worker="w1").enqueued == ["t"]
    assert tick(jobs, now=at(2026, 1, 1, 10, 10)).enqueued == []  # the same run, again: nothing
    row = PeriodicRun.objects.get(name="t")
    assert (row.due_at, row.last_due_at, row.last_worker) == (at(2026, 1, 1, 10, 20), at(2026, 1, 1, 10, 10), "w1")
    assert CALLS == [{"task": "x"}]


@pytest.mark.django_db
def test_missed_runs_run_once_then_the_job_goes_on_from_now():
    jobs = [Job("t", f"{HERE}.remember", Every(1))]
    tick(jobs, now=at(2026, 1, 1, 10, 0))
    assert tick(jobs, now=at(2026, 1, 3, 8, 30, 20)).enqueued == ["t"]  # two days without a worker
    assert len(CALLS) == 1
    assert PeriodicRun.objects.get(name="t").due_at == at(2026, 1, 3, 8, 31)


@pytest.mark.django_db
def test_plain_functions_run_through_the_periodic_task():
    jobs = [Job("p", f"{HERE}.plain_job", Every(1), {"tag": "closing"})]
    tick(jobs, now=at(2026, 1, 1, 10, 0))
    tick(jobs, now=at(2026, 1, 1, 10, 1))
    assert CALLS == [{"plain": "closing"}]


@pytest.mark.django_db
def test_a_job_whose_target_is_missing_is_skipped_and_the_others_run():
    jobs = [Job("gone", "loopcrm.nowhere.tasks.evaluate", Every(1)), Job("t", f"{HERE}.remember", Every(1))]
    tick(jobs, now=at(2026, 1, 1, 10, 0))
    result = tick(jobs, now=at(2026, 1, 1, 10, 1))
    assert (result.enqueued, result.skipped) == (["t"], ["gone"])
    gone = PeriodicRun.objects.get(name="gone")
    assert "ModuleNotFoundError" in gone.last_error and gone.due_at == at(2026, 1, 1, 10, 2)


@pytest.mark.django_db
def test_the_registered_jobs_all_resolve():
    from loopcrm.scheduling import jobs

    names = [job.name for job in jobs()]
    assert len(names) == len(set(names))
    for job in jobs():
        found = schedule.resolve(job.target)
        assert isinstance(found, Task) or callable(found), job.target


@pytest.mark.django_db(transaction=True)
def test_workers_ticking_at_once_enqueue_each_due_run_exactly_once(settings):
    """Eight workers (threads, each its own connection) tick at the same instant, three times over."""
    settings.TASKS = DB_TASKS
    jobs = [Job(f"job-{n}", f"{HERE}.remember", Every(1), {"tag": str(n)}) for n in range(3)]
    tick(jobs, now=at(2026, 1, 1, 10, 0))  # the rows exist; the first runs are due at 10:01
    barrier = threading.Barrier(8)
    results: list = []

    def worker(i: int, now: dt.datetime) -> None:
        try:
            barrier.wait()
            for attempt in range(100):
                try:
                    results.append(tick(jobs, now=now, worker=f"w{i}"))
                    return
                except OperationalError as error:  # SQLite busy: a worker tries again next round
                    if "locked" not in str(error).lower() or attempt == 99:
                        raise
                    time.sleep(0.01 * (attempt + 1))
        except Exception as error:
            results.append(error)
        finally:
            connection.close()

    for minute in (1, 2, 3):
        threads = [threading.Thread(target=worker, args=(i, at(2026, 1, 1, 10, minute))) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not [r for r in results if isinstance(r, Exception)], results
    enqueued = sorted(name for r in results for name in r.enqueued)
    assert enqueued == sorted([f"job-{n}" for n in range(3)] * 3)
    assert DBTaskResult.objects.count() == 9
    assert sorted(r.args_kwargs["kwargs"]["tag"] for r in DBTaskResult.objects.all()) == sorted(["0", "1", "2"] * 3)
    assert CALLS == []  # enqueued for the workers, not run here
