"""The cause-and-effect (fishbone) read: complaints of a scope and period counted by root-cause branch,
cause and sub-cause, against the previous period of the same length, with a monthly series per branch.

Complaints are tickets of kind complaint that the user may see (`tickets_for`); a ticket's root cause is
either a cause (no parent) or a sub-cause, which counts towards its cause too. Counting is done in the
database (one grouped query per window); the small root-cause table is joined in Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import Department, User
from loopcrm.accounts.permissions import can
from loopcrm.core.choices import Channel
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.improvement import fishbone_svg
from loopcrm.improvement.models import FishbonePin, WhyNote
from loopcrm.service.models import RootCause, Ticket, TicketCategory
from loopcrm.service.queries.tickets import tickets_for

MAX_DAYS = 3 * 366
BRANCHES = [branch.value for branch in RootCause.Branch]


def require_view(user: User) -> None:
    if not can(user, "improvement", "view"):
        raise PermissionDenied(_("Your role may not see the improvement engine."))


def require_change(user: User) -> None:
    if not can(user, "improvement", "change"):
        raise PermissionDenied(_("Your role may not change the improvement engine."))


@dataclass
class FishboneScope:
    """Which complaints: narrowed by department (and below), category (and below), channel, customer region."""

    department_id: int | None = None
    category_id: int | None = None
    channel: str | None = None
    region: str | None = None

    def as_filters(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, "")}


@dataclass
class CauseCount:
    code: str
    label: str
    count: int
    previous: int
    change: int
    direction: str  # up | down | flat
    id: int | None = None
    sub_causes: list[CauseCount] = field(default_factory=list)


@dataclass
class BranchCount:
    branch: str
    label: str
    count: int
    previous: int
    change: int
    direction: str
    share: float  # of the classified complaints of the period
    causes: list[CauseCount] = field(default_factory=list)
    monthly: list[int] = field(default_factory=list)


@dataclass
class Fishbone:
    effect: str
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    total: int
    previous_total: int
    unclassified: int
    previous_unclassified: int
    months: list[dt.date]
    branches: list[BranchCount]
    filters: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (dates as ISO text): the API body and a pin's snapshot."""
        data = asdict(self)
        for key in ("start", "end", "previous_start", "previous_end"):
            data[key] = data[key].isoformat()
        data["months"] = [month.isoformat() for month in self.months]
        return data


def _direction(count: int, previous: int) -> str:
    return fishbone_svg.direction(count, previous)


def _day_start(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def _month_starts(end: dt.date, months: int) -> list[dt.date]:
    first = end.replace(day=1)
    out = []
    for _index in range(months):
        out.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return list(reversed(out))


def validate_period(start: dt.date | None, end: dt.date | None, *,
                    today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The period asked for, or the last 90 days; refuses an inverted or over-long period, naming the field."""
    today = today or timezone.localdate()
    end = end or today
    start = start or end - dt.timedelta(days=89)
    if start > end:
        raise RuleViolation(_("The start must not be after the end."), field="start")
    if (end - start).days + 1 > MAX_DAYS:
        raise RuleViolation(_("A period is at most three years."), field="end")
    return start, end


def complaints(user: User, scope: FishboneScope) -> QuerySet[Ticket]:
    """Complaints `user` may see, narrowed by `scope` (unknown department or category: a clear error)."""
    rows = tickets_for(user, "view").filter(kind=Ticket.Kind.COMPLAINT)
    if scope.department_id is not None:
        department = Department.objects.filter(pk=scope.department_id).first()
        if department is None:
            raise RuleViolation(_("No department #%(id)s.") % {"id": scope.department_id}, field="department_id")
        rows = rows.filter(department__path__startswith=department.path)
    if scope.category_id is not None:
        category = TicketCategory.objects.filter(pk=scope.category_id).first()
        if category is None:
            raise RuleViolation(_("No ticket category #%(id)s.") % {"id": scope.category_id}, field="category_id")
        rows = rows.filter(category__path__startswith=category.path)
    if scope.channel:
        if scope.channel not in Channel.values:
            raise RuleViolation(_("Unknown channel “%(value)s”.") % {"value": scope.channel}, field="channel")
        rows = rows.filter(channel=scope.channel)
    if scope.region:
        rows = rows.filter(customer__province=scope.region)
    return rows


def default_effect(scope: FishboneScope) -> str:
    parts = [_("Complaints")]
    if scope.department_id:
        name = Department.objects.filter(pk=scope.department_id).values_list("name", flat=True).first()
        parts.append(name or "")
    if scope.category_id:
        name = TicketCategory.objects.filter(pk=scope.category_id).values_list("name", flat=True).first()
        parts.append(name or "")
    if scope.channel:
        parts.append(str(Channel(scope.channel).label) if scope.channel in Channel.values else scope.channel)
    if scope.region:
        parts.append(scope.region)
    return " · ".join(part for part in parts if part)


def _root_causes() -> dict[int, dict[str, Any]]:
    """The small root-cause table by id (id, code, name, branch, parent_id)."""
    return {row["id"]: row for row in RootCause.objects.values("id", "code", "name", "branch", "parent_id")}


def _top_cause(causes: dict[int, dict[str, Any]], cause_id: int) -> dict[str, Any]:
    """The cause at the top of `cause_id`'s line (a sub-cause counts towards it and takes its branch)."""
    cause, seen = causes[cause_id], set()
    while cause["parent_id"] and cause["parent_id"] in causes and cause["id"] not in seen:
        seen.add(cause["id"])
        cause = causes[cause["parent_id"]]
    return cause


def fishbone(user: User, scope: FishboneScope, *, start: dt.date | None = None, end: dt.date | None = None,
             effect: str = "", months: int = 6) -> Fishbone:
    """Complaint counts per branch, cause and sub-cause for the period and the one before it."""
    require_view(user)
    start, end = validate_period(start, end)
    if not 1 <= months <= 36:
        raise RuleViolation(_("Between 1 and 36 months."), field="months")
    span = (end - start).days + 1
    previous_end = start - dt.timedelta(days=1)
    previous_start = previous_end - dt.timedelta(days=span - 1)
    zone = timezone.get_current_timezone()
    since, boundary, until = _day_start(previous_start, zone), _day_start(start, zone), \
        _day_start(end + dt.timedelta(days=1), zone)
    rows = complaints(user, scope)

    # One grouped query: this period, the previous one and each month of the series, per root cause.
    month_list = _month_starts(end, months)
    month_ends = [*month_list[1:], (month_list[-1] + dt.timedelta(days=32)).replace(day=1)]
    buckets = {"current": Q(opened_at__gte=boundary), "previous": Q(opened_at__gte=since, opened_at__lt=boundary)}
    for index, (first, after) in enumerate(zip(month_list, month_ends, strict=True)):
        buckets[f"m{index}"] = Q(opened_at__gte=_day_start(first, zone), opened_at__lt=min(_day_start(after, zone),
                                                                                           until))
    lower = min(since, _day_start(month_list[0], zone))
    counts = list(rows.filter(opened_at__gte=lower, opened_at__lt=until).order_by().values("root_cause_id").annotate(
        **{name: Count("id", filter=condition) for name, condition in buckets.items()}))

    causes = _root_causes()

    def top(cause_id: int) -> dict:
        return _top_cause(causes, cause_id)

    current: dict[int, int] = {}
    previous: dict[int, int] = {}
    unclassified = previous_unclassified = 0
    for row in counts:
        if row["root_cause_id"] is None or row["root_cause_id"] not in causes:
            unclassified += row["current"]
            previous_unclassified += row["previous"]
        elif row["current"] or row["previous"]:  # causes seen only in older months get no rib
            current[row["root_cause_id"]] = row["current"]
            previous[row["root_cause_id"]] = row["previous"]

    monthly: dict[str, list[int]] = {branch: [0] * len(month_list) for branch in BRANCHES}
    for row in counts:
        if row["root_cause_id"] not in causes:
            continue
        branch = top(row["root_cause_id"])["branch"]
        if branch in monthly:
            for index in range(len(month_list)):
                monthly[branch][index] += row[f"m{index}"]

    # cause id -> (count, previous, {sub id: (count, previous)})
    tree: dict[int, dict[str, Any]] = {}
    for cause_id in set(current) | set(previous):
        head = top(cause_id)
        node = tree.setdefault(head["id"], {"current": 0, "previous": 0, "subs": {}})
        now, before = current.get(cause_id, 0), previous.get(cause_id, 0)
        node["current"] += now
        node["previous"] += before
        if cause_id != head["id"]:
            sub = node["subs"].setdefault(cause_id, [0, 0])
            sub[0] += now
            sub[1] += before

    classified = sum(current.values())
    branches = []
    for branch in BRANCHES:
        cause_counts = []
        for head_id, node in tree.items():
            head = causes[head_id]
            if head["branch"] != branch:
                continue
            subs = [CauseCount(id=sub_id, code=causes[sub_id]["code"], label=causes[sub_id]["name"], count=now,
                               previous=before, change=now - before, direction=_direction(now, before))
                    for sub_id, (now, before) in node["subs"].items()]
            subs.sort(key=lambda item: (-item.count, item.label))
            cause_counts.append(CauseCount(
                id=head_id, code=head["code"], label=head["name"], count=node["current"], previous=node["previous"],
                change=node["current"] - node["previous"], direction=_direction(node["current"], node["previous"]),
                sub_causes=subs))
        cause_counts.sort(key=lambda item: (-item.count, item.label))
        count = sum(item.count for item in cause_counts)
        before = sum(item.previous for item in cause_counts)
        branches.append(BranchCount(
            branch=branch, label=str(RootCause.Branch(branch).label), count=count, previous=before,
            change=count - before, direction=_direction(count, before),
            share=round(count / classified, 4) if classified else 0.0, causes=cause_counts,
            monthly=monthly[branch]))
    return Fishbone(
        effect=effect.strip() or default_effect(scope), start=start, end=end, previous_start=previous_start,
        previous_end=previous_end, total=classified + unclassified,
        previous_total=sum(previous.values()) + previous_unclassified, unclassified=unclassified,
        previous_unclassified=previous_unclassified, months=month_list, branches=branches,
        filters=scope.as_filters())


DRILL_LIMIT = 50


@dataclass
class ComplaintBehind:
    """One complaint behind a count of the fishbone: what a quality manager opens to read the case."""

    id: int
    subject: str
    customer: str
    opened_at: dt.datetime
    status: str
    status_label: str
    severity: str  # the label; "" when not rated
    root_cause: str


@dataclass
class Drill:
    """The complaints behind one branch, cause or sub-cause (or the unclassified ones) for a period."""

    label: str
    start: dt.date
    end: dt.date
    total: int
    rows: list[ComplaintBehind]


def _selected_causes(branch: str, cause_id: int | None) -> tuple[str, list[int]]:
    """The label and root-cause ids behind a branch or a cause; a cause counts its sub-causes."""
    causes = _root_causes()
    if cause_id is not None:
        if cause_id not in causes:
            raise NotFound(_("No root cause #%(id)s.") % {"id": cause_id}, field="cause_id")
        below = sorted(pk for pk in causes if pk == cause_id or _is_below(causes, pk, cause_id))
        return causes[cause_id]["name"], below
    if branch not in BRANCHES:
        raise RuleViolation(_("Unknown branch “%(value)s”.") % {"value": branch}, field="branch")
    ids = sorted(pk for pk in causes if _top_cause(causes, pk)["branch"] == branch)
    return str(RootCause.Branch(branch).label), ids


def _is_below(causes: dict[int, dict[str, Any]], pk: int, ancestor: int) -> bool:
    seen = set()
    parent = causes[pk]["parent_id"]
    while parent is not None and parent in causes and parent not in seen:
        if parent == ancestor:
            return True
        seen.add(parent)
        parent = causes[parent]["parent_id"]
    return False


def complaints_behind(user: User, scope: FishboneScope, *, start: dt.date | None = None,
                      end: dt.date | None = None, branch: str = "", cause_id: int | None = None,
                      unclassified: bool = False, limit: int = DRILL_LIMIT) -> Drill:
    """The newest complaints of the period behind one count of the fishbone, and how many there are.

    Exactly one of `branch`, `cause_id` (a cause with its sub-causes, or one sub-cause) or
    `unclassified` (no root cause yet) says which count; the scope and period are the fishbone's."""
    require_view(user)
    start, end = validate_period(start, end)
    if sum((bool(branch), cause_id is not None, unclassified)) != 1:
        raise RuleViolation(_("Choose one branch, one cause or the unclassified complaints."), field="cause_id")
    zone = timezone.get_current_timezone()
    rows = complaints(user, scope).filter(opened_at__gte=_day_start(start, zone),
                                          opened_at__lt=_day_start(end + dt.timedelta(days=1), zone))
    if unclassified:
        label = _("No root cause yet")
        rows = rows.filter(root_cause__isnull=True)
    else:
        label, ids = _selected_causes(branch, cause_id)
        rows = rows.filter(root_cause_id__in=ids)
    total = rows.count()
    page = rows.select_related("customer", "root_cause").order_by("-opened_at", "-id")[:max(1, min(limit, 200))]
    return Drill(label=label, start=start, end=end, total=total, rows=[_behind(ticket) for ticket in page])


def _behind(ticket: Ticket) -> ComplaintBehind:
    return ComplaintBehind(
        id=ticket.pk, subject=ticket.subject, customer=str(ticket.customer) if ticket.customer_id else "",
        opened_at=ticket.opened_at, status=ticket.status, status_label=str(ticket.get_status_display()),
        severity=str(ticket.get_severity_display()) if ticket.severity else "",
        root_cause=ticket.root_cause.name if ticket.root_cause_id else "")


def bones(data: Fishbone | dict[str, Any]) -> list[fishbone_svg.Bone]:
    """The fishbone's counts as the pure layout's bones (from a live read or a pin's snapshot)."""
    branches = data["branches"] if isinstance(data, dict) else [asdict(branch) for branch in data.branches]
    return [
        fishbone_svg.Bone(
            key=branch["branch"], label=branch["label"], count=branch["count"], previous=branch["previous"],
            ribs=tuple(fishbone_svg.Rib(
                label=cause["label"], count=cause["count"], previous=cause["previous"], key=cause["code"],
                ribs=tuple(fishbone_svg.Rib(label=sub["label"], count=sub["count"], previous=sub["previous"],
                                            key=sub["code"]) for sub in cause["sub_causes"]))
                for cause in branch["causes"]))
        for branch in branches
    ]


def svg_labels() -> dict[str, str]:
    return {"title": _("Cause-and-effect diagram"), "complaints": _("complaints"), "more": _("more"),
            "previous": _("previous period")}


def fishbone_svg_text(data: Fishbone | dict[str, Any]) -> str:
    effect = data["effect"] if isinstance(data, dict) else data.effect
    total = data["total"] if isinstance(data, dict) else data.total
    return fishbone_svg.render_svg(effect, bones(data), total=total, labels=svg_labels())


def fishbone_png(data: Fishbone | dict[str, Any]) -> bytes:
    effect = data["effect"] if isinstance(data, dict) else data.effect
    total = data["total"] if isinstance(data, dict) else data.total
    return fishbone_svg.render_png(effect, bones(data), total=total, labels=svg_labels())


# --- pins and 5-whys ------------------------------------------------------------------------------

MAX_ID = 2**63 - 1


def _cycle_model():
    from django.apps import apps

    return apps.get_model("improvement", "Cycle")


def open_cycles(user: User) -> QuerySet:
    """Cycles a fishbone may be pinned to: every cycle not closed (improvement view sees all cycles)."""
    require_view(user)
    return _cycle_model().objects.exclude(phase="closed").order_by("-updated_at", "-id")


def get_cycle_for(user: User, cycle_id: int, *, field: str = "cycle_id"):
    require_view(user)
    if isinstance(cycle_id, bool) or not isinstance(cycle_id, int) or not 0 < cycle_id <= MAX_ID:
        raise NotFound(_("No cycle #%(id)s.") % {"id": cycle_id}, field=field)
    cycle = _cycle_model().objects.filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound(_("No cycle #%(id)s.") % {"id": cycle_id}, field=field)
    return cycle


def pins_for(user: User, *, cycle_id: int | None = None) -> QuerySet[FishbonePin]:
    require_view(user)
    rows = FishbonePin.objects.select_related("cycle", "created_by").prefetch_related("whys")
    return rows.filter(cycle_id=cycle_id) if cycle_id is not None else rows


def get_pin_for(user: User, pin_id: int) -> FishbonePin:
    if isinstance(pin_id, bool) or not isinstance(pin_id, int) or not 0 < pin_id <= MAX_ID:
        raise NotFound(_("No pinned fishbone #%(id)s.") % {"id": pin_id}, field="pin_id")
    pin = pins_for(user).filter(pk=pin_id).first()
    if pin is None:
        raise NotFound(_("No pinned fishbone #%(id)s.") % {"id": pin_id}, field="pin_id")
    return pin


def get_why_for(user: User, pin: FishbonePin, why_id: int) -> WhyNote:
    if isinstance(why_id, bool) or not isinstance(why_id, int) or not 0 < why_id <= MAX_ID:
        raise NotFound(_("No why #%(id)s.") % {"id": why_id}, field="why_id")
    note = WhyNote.objects.filter(pin=pin, pk=why_id).first()
    if note is None:
        raise NotFound(_("No why #%(id)s.") % {"id": why_id}, field="why_id")
    return note


@dataclass
class WhyChain:
    """The 5-whys of one branch (cause_code "") or one cause on a pinned fishbone, in order."""

    branch: str
    branch_label: str
    cause_code: str
    cause_label: str
    notes: list[WhyNote]


def why_chains(pin: FishbonePin) -> list[WhyChain]:
    chains: dict[tuple[str, str], WhyChain] = {}
    for note in sorted(pin.whys.all(), key=lambda item: (BRANCHES.index(item.branch) if item.branch in BRANCHES
                                                          else 99, item.cause_code, item.position)):
        key = (note.branch, note.cause_code)
        if key not in chains:
            label = str(RootCause.Branch(note.branch).label) if note.branch in BRANCHES else note.branch
            chains[key] = WhyChain(branch=note.branch, branch_label=label, cause_code=note.cause_code,
                                   cause_label=note.cause_label, notes=[])
        chains[key].notes.append(note)
    return list(chains.values())
