"""Background tasks of the service desk (django-tasks, database backend; immediate in tests).

Tasks take ids, call one service and are safe to run twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _
from django_tasks import task

from loopcrm.accounts.models import User


@task()
def check_sla_clock(clock_id: int, cycle: int | None = None, at: str | None = None) -> list[str]:
    """Scheduled at a clock's warning and due instants: warn or breach it and escalate (idempotent)."""
    from loopcrm.service.services import sla

    moment = dt.datetime.fromisoformat(at) if at else None
    return sla.check_clock(clock_id, at=moment, cycle=cycle)


@task()
def check_sla_clocks(clocks: list[list[int]], at: str | None = None) -> list[str]:
    """Scheduled when a ticket opens, at the first instant one of its clocks must be checked: checks them all
    (clock id, cycle) and schedules itself again for the next instant (idempotent)."""
    from loopcrm.service.services import sla

    return sla.check_clocks(clocks, at=dt.datetime.fromisoformat(at) if at else None)


@task()
def sweep_sla_clocks(at: str | None = None) -> int:
    """The periodic catch-all: any clock past its warning or due instant that no scheduled check handled."""
    from loopcrm.service.services import sla

    return sla.check_due_clocks(dt.datetime.fromisoformat(at) if at else None)


@task()
def send_escalation_notice(ticket_id: int, clock_id: int, level: str, user_ids: list[int]) -> int:
    """Mail the leads about a warning or breach. Returns how many were mailed (those with an address)."""
    from loopcrm.service.models import SlaClock, Ticket

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    clock = SlaClock.objects.filter(pk=clock_id).first()
    if ticket is None or clock is None:
        return 0
    recipients = [email for email in User.objects.filter(pk__in=user_ids, is_active=True)
                  .exclude(email="").values_list("email", flat=True)]
    if not recipients:
        return 0
    what = _("SLA warning") if level == "warning" else _("SLA breached")
    subject = f"[{what}] #{ticket.pk} {ticket.subject}"[:200]
    body = _("%(what)s: %(metric)s on ticket #%(id)s is due %(due)s.") % {
        "what": what, "metric": clock.get_metric_display(), "id": ticket.pk, "due": clock.due_at.isoformat()}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    return len(recipients)
