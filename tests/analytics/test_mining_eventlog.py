"""The event log from the database, built through the service desk's own services: two repair tickets
follow their standard process; the loader turns their TicketEvents into activities and step durations.

Story (T0 = 2026-11-23 09:00 UTC):
- #A for 张伟, assigned to 王芳 (agent): diagnose starts at opening and completes when the ticket goes on hold
  at +45 min; repair runs to +4 h; the optional call-back is skipped at +5 h; resolved at +5 h 10.
- #B for 李先生, assigned to 王芳, handed to 李娜 (lead) at +1 h 10 and back to 王芳 at +1 h 20 (ping-pong);
  on hold at +3 h (diagnose took 2 h: twice its 60 min target); repair done at +4 h, call-back at +4 h 30;
  resolved at +5 h, reopened at +6 h.
"""

from __future__ import annotations

import datetime as dt

import pytest

from loopcrm.analytics import mining
from loopcrm.analytics.queries import eventlog
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.service.models import Queue, TicketStep
from loopcrm.service.services import processes as process_services
from loopcrm.service.services import tickets as ticket_services
from tests import factories
from tests.service.test_processes_helpers import queue, repair_process, repair_steps

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
WINDOW = {"start": "2026-11-01", "end": "2026-11-30"}


def step(ticket, key):
    return TicketStep.objects.get(ticket_process__ticket=ticket, step__key=key)


def build_story(org):
    desk = queue("Repairs 维修", department=org.service, members=[org.agent, org.lead],
                 strategy=Queue.Strategy.ROUND_ROBIN)
    repair_process(org.admin, steps=repair_steps(diagnose={"checklist": []}, repair={"required_fields": []}))
    a = ticket_services.open_ticket(customer=factories.customer("张伟"), subject="打印机无法启动", kind="repair",
                                    channel="phone", queue=desk, assignee=org.agent, by=org.agent, at=T0)
    b = ticket_services.open_ticket(customer=factories.customer("李先生"), subject="Printer jam", kind="repair",
                                    channel="phone", queue=desk, assignee=org.agent, by=org.agent, at=T0 + 60 * M)
    ticket_services.change_status(a, "on_hold", by=org.agent, at=T0 + 45 * M)
    ticket_services.assign(b, to=org.lead, by=org.lead, at=T0 + 70 * M, reason="Needs the lead")
    ticket_services.assign(b, to=org.agent, by=org.lead, at=T0 + 80 * M, reason="Back to you")
    ticket_services.change_status(b, "on_hold", by=org.agent, at=T0 + 180 * M)
    process_services.complete_step(step(a, "repair"), by=org.agent, at=T0 + 240 * M)
    process_services.complete_step(step(b, "repair"), by=org.agent, at=T0 + 240 * M)
    process_services.skip_step(step(a, "call-back"), by=org.agent, at=T0 + 300 * M, reason="Customer unreachable")
    process_services.complete_step(step(b, "call-back"), by=org.agent, at=T0 + 270 * M)
    ticket_services.change_status(a, "resolved", by=org.agent, at=T0 + 310 * M)
    ticket_services.change_status(b, "resolved", by=org.agent, at=T0 + 300 * M)
    ticket_services.change_status(b, "reopened", by=org.agent, at=T0 + 360 * M)
    return a, b


def load(**params):
    return eventlog.load(eventlog.parse_filters({**WINDOW, **params}))


def sequences(loaded):
    log = loaded.log
    ends = [*log.case_start[1:], log.n_events]
    return {int(log.case_ids[i]): [log.activities[c] for c in log.activity[s:e]]
            for i, (s, e) in enumerate(zip(log.case_start, ends, strict=True))}


def test_events_become_activities_and_steps_last_from_start_to_finish(org):
    a, b = build_story(org)
    loaded = load()
    assert sequences(loaded) == {
        a.pk: ["opened", "routed", "assigned", "step:diagnose", "status:on_hold", "step:repair", "status:resolved"],
        b.pk: ["opened", "routed", "assigned", "step:diagnose", "assigned", "assigned", "status:on_hold",
               "step:repair", "step:call-back", "status:resolved", "status:reopened"],
    }
    graph = mining.dfg(loaded.log)
    # diagnose: 45 min (A) and 2 h (B), p90 45 + 0.9 × 75 min; repair: 3 h 15 (A) and 1 h (B);
    # call-back 30 min (B only: A's was skipped).
    assert sorted(graph.node("step:diagnose").duration.__dict__.items()) == sorted(
        {"n": 2, "total": 165 * 60.0, "mean": 82.5 * 60, "median": 82.5 * 60, "p90": 112.5 * 60}.items())
    assert graph.node("step:repair").duration.total == (195 + 60) * 60
    assert graph.node("step:call-back").duration.total == 30 * 60
    assert loaded.vocabulary.names["step:diagnose"] == "Diagnose 诊断"
    assert loaded.vocabulary.targets == {"step:diagnose": 3600.0, "step:repair": 14400.0, "step:call-back": 1800.0}
    ranking = mining.bottlenecks(loaded.log, targets=loaded.vocabulary.targets)
    diagnose = next(r for r in ranking if r.name == "step:diagnose")
    assert (diagnose.over_target, diagnose.over_target_share, diagnose.median_vs_target) == (1, 0.5, 1.375)
    assert list(loaded.finished) == [a.pk]  # B was reopened


def test_hand_overs_reopenings_and_conformance(org):
    build_story(org)
    loaded = load(process="repair")
    pairs, cases = mining.ping_pong(*loaded.agents)
    assert cases == 1
    assert [(p.a, p.b, p.count) for p in pairs] == [(org.agent.pk, org.lead.pk, 1)]
    assert mining.ping_pong(*loaded.queues)[1] == 0
    report = mining.rework(loaded.log, reopen=[eventlog.REOPEN])
    assert (report.reopened_cases, report.cases_with_rework) == (1, 1)  # B: reopened, and assigned three times
    assert [(s.activity, s.mandatory) for s in loaded.vocabulary.expected] == [
        ("step:diagnose", True), ("step:repair", True), ("step:call-back", False)]
    result = mining.conformance(loaded.log, loaded.vocabulary.expected, finished=loaded.finished)
    assert [(s.activity, s.observed, s.skipped) for s in result.steps] == [
        ("step:diagnose", 2, 0), ("step:repair", 2, 0), ("step:call-back", 1, 0)]
    assert result.fitness == 1.0


def test_the_steps_view_and_the_filters(org):
    a, b = build_story(org)
    assert sequences(load(view="steps")) == {a.pk: ["step:diagnose", "step:repair"],
                                             b.pk: ["step:diagnose", "step:repair", "step:call-back"]}
    assert load(kind="complaint").log.n_cases == 0
    assert load(start="2026-11-24", end="2026-11-30").log.n_cases == 0
    assert load(department=org.service.pk).log.n_cases == 2
    assert load(department=org.sales_east.pk).log.n_cases == 0
    assert load(team=org.hotline.pk).log.n_cases == 2  # assigned to 王芳, a member
    assert load(process="repair", version="1").log.n_cases == 2


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2026-13-01"}, "start"), ({"start": "2026-11-30", "end": "2026-11-01"}, "start"),
    ({"process": "nope"}, "process"), ({"process": "repair", "version": "9"}, "version"),
    ({"version": "1"}, "version"), ({"kind": "gossip"}, "kind"), ({"team": "x"}, "team"),
    ({"category": "999999"}, "category"), ({"view": "everything"}, "view"),
    ({"start": "2020-01-01", "end": "2026-11-30"}, "start"),
])
def test_bad_filters_name_the_field(org, params, field):
    repair_process(org.admin)
    with pytest.raises(RuleViolation) as refused:
        eventlog.parse_filters(params)
    assert refused.value.field == field


def test_only_roles_that_see_improvement_may_mine(org):
    build_story(org)
    filters = eventlog.parse_filters(WINDOW)
    assert eventlog.load_for(org.exec, filters).log.n_cases == 2
    marketing = factories.user("mkt", role="marketing", department=org.head)
    from loopcrm.accounts.permissions import can
    if not can(marketing, "improvement", "view"):
        with pytest.raises(PermissionDenied):
            eventlog.load_for(marketing, filters)


def test_queue_moves_are_hand_overs_and_bouncing_back_is_ping_pong(org):
    a, b = build_story(org)
    desk = a.queue
    other = queue("综合 General", department=org.service, members=[org.agent])
    for n, target in enumerate([other, desk]):
        current = ticket_services.Ticket.objects.get(pk=b.pk)
        ticket_services.update_ticket(current, by=org.lead, version=current.version, changes={"queue": target},
                                      at=T0 + (400 + n * 10) * M)
    loaded = load()
    assert sequences(loaded)[b.pk][-2:] == [eventlog.QUEUE_CHANGED, eventlog.QUEUE_CHANGED]
    pairs, cases = mining.ping_pong(*loaded.queues)
    assert cases == 1
    assert [(p.a, p.b, p.count) for p in pairs] == [(desk.pk, other.pk, 1)]  # routed to desk, moved away, back
    assert loaded.vocabulary.names[eventlog.QUEUE_CHANGED] == "Queue changed"
    everything = load(view="all")
    assert "reply" in everything.vocabulary.keys
    assert everything.log.n_events >= loaded.log.n_events
