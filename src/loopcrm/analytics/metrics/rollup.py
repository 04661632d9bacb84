"""The daily roll-up: closed days of the registry's additive terms, filled from the catalogue itself.

Why (decision 0007): the quality dashboard's live statements scan ~80,000 tickets and ~200,000 SLA clocks
and bucket each row by its local day, ~200 ms of CPU per request at 1,000,000 tickets; a dashboard must
cost a fraction of that to keep p95 ≤ 300 ms at four concurrent users on two cores.

What: for each rolled source (tickets by opening, SLA clocks by start) `DailyFact` holds, per local day
and the ticket's (department, assignee), the value of every term the catalogue defines on that table,
computed by the SAME aggregate expressions the live engine runs (`_statement` below is the engine's grouped
statement with the day, department and assignee as the groups). So there is still one definition: the
roll-up is that definition evaluated ahead of time for closed days. A query then reads closed days from
the roll-up and the days after it (today, and any day the refresh has not reached) live, and adds them.

When it is used (`usable_through`): the source is rolled; the state's layout fingerprint (the statement's
SQL and the slot order) matches the catalogue now, and its time zone is the reader's; the filters and the
cut are among department, agent and team (the roll-up's dimensions). The user's scope is the ticket scope
of `scope_filter` on (department, assignee) — the same function and lookups as the ticket read door — so
an agent's roll-up rows are exactly their tickets' rows. Anything else is computed live, as before.

Freshness: `refresh()` (every 10 minutes, loopcrm.analytics.tasks) rolls newly closed days and re-rolls the
closed days of tickets with events since its last run (a reply, a resolution, a reassignment, an SLA
breach each leave a ticket event, and the event ids are a cheap watermark); `refresh(full=True)` nightly
rebuilds everything, the net for changes that leave no event (a deleted ticket). Between refreshes a
closed day's figures are those of the last refresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Min, QuerySet, Sum
from django.utils import timezone

from loopcrm.accounts.permissions import scope_filter
from loopcrm.analytics.metrics import sql
from loopcrm.analytics.metrics.engine import Query, Term
from loopcrm.analytics.metrics.sources import SOURCES
from loopcrm.analytics.models import SLOTS, DailyFact, RollupState
from loopcrm.service.models import TicketEvent

# Rolled sources, with the lookup of the row's ticket (to find the days a ticket event touches).
ROLLED = {"tickets": "pk", "clocks": "ticket"}
# Registry dimensions the roll-up keeps, as lookups on DailyFact (the same names the ticket source uses).
FACT_DIMENSIONS = {"department": "department", "agent": "assignee", "team": "assignee__teams"}
# Ticket events are re-read this far below the watermark: an event whose transaction committed after a
# later id was seen is not skipped.
EVENT_MARGIN = 2000
FINGERPRINT_DAY = dt.date(2000, 1, 3)


@dataclass(frozen=True)
class Layout:
    """The terms of one (source, date column) in slot order, and what identifies that definition."""

    source: str
    date: str
    slots: tuple[tuple[str, str], ...]  # (metric key, role) per slot v0, v1, …
    terms: tuple[Term, ...] = field(compare=False)

    @property
    def key(self) -> str:
        return f"{self.source}.{self.date}"

    def slot(self, metric: str, role: str) -> int | None:
        try:
            return self.slots.index((metric, role))
        except ValueError:
            return None


_LAYOUTS: dict[str, Layout] = {}


def layouts() -> dict[str, Layout]:
    """Every rolled (source, date column) with the catalogue's additive terms on it, in catalogue order."""
    if not _LAYOUTS:
        _LAYOUTS.update(_layouts())
    return _LAYOUTS


def _layouts() -> dict[str, Layout]:
    from loopcrm.analytics.registry import _catalog

    found: dict[tuple[str, str], list[tuple[str, str, Term]]] = {}
    for key, (_metric, formula) in _catalog().items():
        if formula.custom is not None:
            continue
        for role, term in formula.terms():
            if term.source in ROLLED and not term.stock:
                found.setdefault((term.source, term.date), []).append((key, role, term))
    return {f"{source}.{date}": Layout(source=source, date=date, slots=tuple((k, r) for k, r, _t in items),
                                       terms=tuple(t for _k, _r, t in items))
            for (source, date), items in found.items() if len(items) <= SLOTS}


def _statement(layout: Layout, low: dt.datetime, high: dt.datetime) -> QuerySet:
    """The engine's grouped statement for the system user over [low, high), by local day, department and
    assignee: the catalogue's terms, one aggregate per slot."""
    source = SOURCES[layout.source]
    rows = source.rows(None).filter(**{f"{layout.date}__gte": low, f"{layout.date}__lt": high})
    aggregates = {f"v{slot}": term.aggregate() for slot, term in enumerate(layout.terms)}
    return (rows.values(bucket=sql.bucket_expression(layout.date, "day"),
                        dep=F(source.dimensions["department"]), who=F(source.dimensions["agent"]))
            .annotate(**aggregates).order_by())


_FINGERPRINTS: dict[tuple[str, str, str], str] = {}


def fingerprint(layout: Layout) -> str:
    """sha256 of the roll-up statement's SQL (for a fixed day) and the slot order: any change to a term's
    expression, a source's rows or the day bucket gives another fingerprint, and rows rolled under the old
    one are not read."""
    cache_key = (connection.vendor, timezone.get_current_timezone_name(), layout.key)
    if cache_key not in _FINGERPRINTS:
        low, high = sql.bounds(FINGERPRINT_DAY, FINGERPRINT_DAY)
        text = f"{layout.slots!r}\n{_statement(layout, low, high).query}"
        _FINGERPRINTS[cache_key] = hashlib.sha256(text.encode()).hexdigest()
    return _FINGERPRINTS[cache_key]


# --- reading -----------------------------------------------------------------------------------------

def states(keys: Iterable[str]) -> dict[str, RollupState]:
    """The roll-up's state per source; none at all (everything live) when settings.METRICS_ROLLUP is False."""
    if not getattr(settings, "METRICS_ROLLUP", True):
        return {}
    return {state.source: state for state in RollupState.objects.filter(source__in=list(keys))}


def usable_through(layout: Layout | None, state: RollupState | None, query: Query,
                   wanted: Iterable[tuple[str, str]]) -> dt.date | None:
    """The last day of `query` the roll-up can answer (it answers every day from the window's start to that
    one), or None when the query must run live."""
    if layout is None or state is None or state.rolled_through is None or state.rolled_through < query.start:
        return None
    if any(name not in FACT_DIMENSIONS for name in query.filters):
        return None
    if query.dimension is not None and query.dimension not in FACT_DIMENSIONS:
        return None
    if any(layout.slot(metric, role) is None for metric, role in wanted):
        return None
    if state.zone != timezone.get_current_timezone_name() or state.layout != fingerprint(layout):
        return None
    return min(state.rolled_through, query.end)


def read(layout: Layout, query: Query, through: dt.date,
         wanted: dict[str, tuple[str, str]]) -> list[dict]:
    """Rows {day, dim?, alias: sum} of the roll-up for [query.start, through] in the user's scope and the
    filters, one per (day, dimension value); `wanted` maps each alias to its (metric key, role)."""
    facts = DailyFact.objects.filter(source=layout.key, day__gte=query.start, day__lte=through)
    if query.user is not None:
        condition = scope_filter(query.user, "ticket", "view", owner="assignee", department="department")
        if condition is None:
            return []
        facts = facts.filter(condition)
    for name, value in query.filters.items():
        facts = facts.filter(**{FACT_DIMENSIONS[name]: value})
    group = {"dim": F(FACT_DIMENSIONS[query.dimension])} if query.dimension else {}
    sums = {alias: Sum(f"v{layout.slot(*term)}") for alias, term in wanted.items()}
    return list(facts.values("day", **group).annotate(**sums).order_by())


# --- refreshing --------------------------------------------------------------------------------------

@dataclass
class Refreshed:
    """What one refresh of one source did."""

    source: str
    rebuilt: bool = False
    days: int = 0  # local days (re)computed
    rows: int = 0  # fact rows written
    rolled_through: dt.date | None = None


def _roll(layout: Layout, first: dt.date, last: dt.date) -> int:
    """Recompute the facts of the local days [first, last]: delete them, insert the statement's rows."""
    low, high = sql.bounds(first, last)
    facts = [DailyFact(source=layout.key, day=sql.as_date(row["bucket"]), department_id=row["dep"],
                       assignee_id=row["who"], **{f"v{slot}": float(row[f"v{slot}"] or 0)
                                                   for slot in range(len(layout.terms))})
             for row in _statement(layout, low, high).iterator(chunk_size=5000)]
    # Written in day order, so a window's rows sit on few pages (a hash aggregate answers in no order).
    facts.sort(key=lambda fact: (fact.day, fact.department_id or 0, fact.assignee_id or 0))
    DailyFact.objects.filter(source=layout.key, day__gte=first, day__lte=last).delete()
    DailyFact.objects.bulk_create(facts, batch_size=2000)
    return len(facts)


def _runs(days: list[dt.date], gap: int = 3) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as [first, last] runs; days at most `gap` apart share a run (one statement, not many)."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days <= gap:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _touched_days(layout: Layout, after_event: int, through_event: int, through: dt.date) -> list[dt.date]:
    """Closed local days (≤ through) of the source's rows whose ticket has an event with id in
    (after_event, through_event]."""
    if through_event <= after_event:
        return []
    tickets = TicketEvent.objects.filter(pk__gt=after_event, pk__lte=through_event).values("ticket_id")
    _low, high = sql.bounds(through, through)
    rows = (SOURCES[layout.source].rows(None)
            .filter(**{f"{ROLLED[layout.source]}__in": tickets, f"{layout.date}__lt": high})
            .values_list(sql.bucket_expression(layout.date, "day"), flat=True).distinct().order_by())
    return [sql.as_date(day) for day in rows]


def refresh(*, full: bool = False, today: dt.date | None = None) -> list[Refreshed]:
    """Bring every rolled source up to yesterday (in the configured time zone) and re-roll the closed days
    that ticket events since the last refresh touched; `full` rebuilds every day. Safe to run twice or
    concurrently (each source's state row is locked while it is rolled)."""
    out = []
    with timezone.override(settings.TIME_ZONE):
        today = today or timezone.localdate()
        closed = today - dt.timedelta(days=1)
        for layout in layouts().values():
            out.append(_refresh_one(layout, closed, full=full))
    return out


def _refresh_one(layout: Layout, closed: dt.date, *, full: bool) -> Refreshed:
    done = Refreshed(source=layout.key)
    zone, print_ = timezone.get_current_timezone_name(), fingerprint(layout)
    with transaction.atomic():
        RollupState.objects.get_or_create(source=layout.key, defaults={"zone": zone, "layout": print_})
        state = RollupState.objects.select_for_update().get(source=layout.key)
        last_event = TicketEvent.objects.aggregate(top=Max("pk"))["top"] or 0
        stale = state.rolled_through is None or state.zone != zone or state.layout != print_
        if full or stale:
            DailyFact.objects.filter(source=layout.key).delete()
            first = SOURCES[layout.source].rows(None).aggregate(first=Min(layout.date))["first"]
            if first is not None and timezone.localtime(first).date() <= closed:
                done.rows += _roll(layout, timezone.localtime(first).date(), closed)
                done.days = (closed - timezone.localtime(first).date()).days + 1
            done.rebuilt = True
            state.rebuilt_at = timezone.now()
            if connection.vendor == "postgresql":  # the planner's statistics for the rows just written
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {DailyFact._meta.db_table}")
        else:
            assert state.rolled_through is not None
            touched = _touched_days(layout, max(state.last_event_id - EVENT_MARGIN, 0), last_event,
                                    min(state.rolled_through, closed))
            if state.rolled_through < closed:
                touched += [state.rolled_through + dt.timedelta(days=n + 1)
                            for n in range((closed - state.rolled_through).days)]
            for first, last in _runs(touched):
                done.rows += _roll(layout, first, last)
                done.days += (last - first).days + 1
        state.zone, state.layout = zone, print_
        state.rolled_through = max(closed, state.rolled_through or closed) if not (full or stale) else closed
        state.last_event_id = last_event
        state.refreshed_at = timezone.now()
        state.save()
    done.rolled_through = state.rolled_through
    return done
