"""Periodic jobs: a small scheduler every worker runs, with no state of its own.

A `Job` names a dotted path (a django-tasks task, enqueued; or a plain function, run through the
`run_periodic` task) and a schedule: `Every(minutes=N)`, `Daily(hour, minute)` or
`Monthly(day, hour, minute)`, the last two in the configured time zone. Each job has one
`PeriodicRun` row holding when it is next due. `tick()` — called by every worker every few
seconds — looks at the due rows and claims each with a conditional UPDATE ("move due_at on from
the value I read"); only the worker whose UPDATE changed the row enqueues the run, in the same
transaction, so two workers never enqueue the same run and a crash between the two loses nothing.

A run that was missed (no worker for a day) runs once when a worker comes back, then the job
continues from its next occurrence after now: no burst of catch-up runs. A job whose target
cannot be imported (an app not installed yet) is skipped with its error on the row.

This module knows no domain: the job list lives in `loopcrm.scheduling`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, OperationalError, close_old_connections, transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task

from loopcrm.core.models import PeriodicRun

log = logging.getLogger(__name__)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Schedule(Protocol):
    def next_after(self, moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        """The first occurrence strictly after `moment` (aware), as an aware datetime."""
        ...


@dataclass(frozen=True)
class Every:
    """Every N minutes, on the multiples of N minutes since the epoch (UTC): every 10 → :00, :10, :20…"""

    minutes: int

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ValueError("minutes must be at least 1")

    def next_after(self, moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        step = dt.timedelta(minutes=self.minutes)
        periods = (moment - EPOCH) // step
        return EPOCH + (periods + 1) * step


def _local(day: dt.date, hour: int, minute: int, zone: dt.tzinfo) -> dt.datetime:
    """That wall-clock time on that day, in UTC. In a DST gap it reads the clock with the offset before the
    change (02:30 that does not exist runs at 03:30); in a fold, at the first of the two (so it runs once)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class Daily:
    """Every day at HH:MM local time."""

    hour: int
    minute: int = 0

    def next_after(self, moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        day = moment.astimezone(zone).date()
        for offset in range(3):
            candidate = _local(day + dt.timedelta(days=offset), self.hour, self.minute, zone)
            if candidate > moment:
                return candidate
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Monthly:
    """Every month on day D (the month's last day when it is shorter) at HH:MM local time."""

    day: int = 1
    hour: int = 0
    minute: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.day <= 31:
            raise ValueError("day must be 1…31")

    def next_after(self, moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
        local = moment.astimezone(zone)
        year, month = local.year, local.month
        for _ in range(3):
            last = calendar.monthrange(year, month)[1]
            candidate = _local(dt.date(year, month, min(self.day, last)), self.hour, self.minute, zone)
            if candidate > moment:
                return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Job:
    """A periodic job: a unique name, the dotted path of what to run, when, and keyword arguments."""

    name: str
    target: str
    schedule: Every | Daily | Monthly
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class TickResult:
    enqueued: list[str] = field(default_factory=list)  # names of the jobs this call enqueued
    skipped: list[str] = field(default_factory=list)  # due, but the target could not be loaded


def time_zone() -> dt.tzinfo:
    return ZoneInfo(settings.TIME_ZONE)


def resolve(target: str) -> Callable[..., Any]:
    """The object at a dotted path ("package.module.name"); ImportError/AttributeError when absent."""
    module, _, name = target.rpartition(".")
    return getattr(import_module(module), name)


@task()
def run_periodic(target: str, kwargs: dict[str, Any] | None = None) -> Any:
    """Run a plain function on a schedule (a service such as close_resolved); its result is the task's."""
    return resolve(target)(**(kwargs or {}))


def _enqueue(job: Job) -> str:
    found = resolve(job.target)
    if isinstance(found, Task):
        result = found.enqueue(**job.kwargs)
    else:
        result = run_periodic.enqueue(target=job.target, kwargs=job.kwargs)
    return str(getattr(result, "id", ""))


def _ensure_rows(jobs: Sequence[Job], now: dt.datetime, zone: dt.tzinfo) -> dict[str, PeriodicRun]:
    rows = {row.name: row for row in PeriodicRun.objects.filter(name__in=[job.name for job in jobs])}
    for job in jobs:
        if job.name not in rows:
            try:
                with transaction.atomic():
                    rows[job.name] = PeriodicRun.objects.create(name=job.name,
                                                                due_at=job.schedule.next_after(now, zone))
            except IntegrityError:  # another worker created it first
                rows[job.name] = PeriodicRun.objects.get(name=job.name)
    return rows


def tick(jobs: Iterable[Job], *, now: dt.datetime | None = None, worker: str = "") -> TickResult:
    """Enqueue every job that is due at `now` and that no other worker claimed first. Safe to call from
    any number of workers at once, as often as you like."""
    now = now or timezone.now()
    zone = time_zone()
    jobs = list(jobs)
    rows = _ensure_rows(jobs, now, zone)
    result = TickResult()
    for job in jobs:
        row = rows[job.name]
        if row.due_at > now:
            continue
        following = job.schedule.next_after(now, zone)
        with transaction.atomic():
            claimed = PeriodicRun.objects.filter(pk=row.pk, due_at=row.due_at).update(
                due_at=following, last_due_at=row.due_at, last_enqueued_at=now, last_worker=worker[:100])
            if not claimed:
                continue  # another worker took this run
            try:
                task_id = _enqueue(job)
            except (ImportError, AttributeError) as error:
                log.warning("periodic job %s: cannot load %s (%s); skipped until its next run",
                            job.name, job.target, error)
                PeriodicRun.objects.filter(pk=row.pk).update(last_error=f"{type(error).__name__}: {error}"[:2000],
                                                             last_task_id="")
                result.skipped.append(job.name)
                continue
            PeriodicRun.objects.filter(pk=row.pk).update(last_error="", last_task_id=task_id[:64])
        result.enqueued.append(job.name)
        log.info("periodic job %s enqueued (due %s, next %s)", job.name, row.due_at.isoformat(), following.isoformat())
    return result


class SchedulerThread(threading.Thread):
    """Calls `tick(jobs())` every `interval` seconds beside a worker, until stopped. Errors are logged, and
    a busy database (SQLite "locked") just waits for the next round."""

    def __init__(self, jobs: Callable[[], Sequence[Job]], *, interval: float = 15.0, worker: str = "") -> None:
        super().__init__(name="loopcrm-scheduler", daemon=True)
        self.jobs, self.interval, self.worker = jobs, interval, worker
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                close_old_connections()
                tick(self.jobs(), worker=self.worker)
            except OperationalError as error:
                log.info("scheduler: database busy (%s); trying again in %s s", error, self.interval)
            except Exception:
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
