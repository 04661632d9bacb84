"""Background tasks of the improvement engine (django-tasks, database backend; immediate in tests).

Tasks take ids, call one service and are safe to run twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task


@task()
def evaluate_control_charts(at: str | None = None) -> int:
    """The nightly run: evaluate every active control chart; returns how many new signals were found."""
    from loopcrm.improvement.services import charts

    moment = dt.datetime.fromisoformat(at) if at else None
    return sum(len(result.new_signals) for result in charts.evaluate_active_charts(at=moment))


@task()
def notify_chart_owner(chart_id: int, signal_ids: list[int]) -> int:
    """Mail the chart's owner about its new signals (each signal is mailed once). Returns how many."""
    from loopcrm.improvement.models import ChartSignal, ControlChart

    with transaction.atomic():
        chart = ControlChart.objects.select_related("owner").filter(pk=chart_id).first()
        if chart is None:
            return 0
        signals = list(ChartSignal.objects.select_for_update()
                       .filter(chart=chart, pk__in=signal_ids, notified_at__isnull=True).order_by("bucket", "rule"))
        owner = chart.owner
        if not signals or not owner.is_active or not owner.email:
            return 0
        language = getattr(owner, "language", "") or settings.LANGUAGE_CODE
        base = getattr(settings, "LOOPCRM_PUBLIC_URL", "http://localhost:8000").rstrip("/")
        with translation.override(language):
            link = base + reverse("web:control_chart_detail", args=[chart.pk])
            subject = _("[Control chart] %(chart)s: %(n)s new signal(s)") % {"chart": chart.name, "n": len(signals)}
            lines = [_("The control chart “%(chart)s” (%(metric)s) shows a special cause:")
                     % {"chart": chart.name, "metric": chart.metric_key}, ""]
            lines += [f"- {s.bucket.isoformat()}  {s.rule}  {_(s.description)}"
                      + ("" if s.value is None else f"  ({s.value:.4g})") for s in signals]
            lines += ["", _("Look at the chart, acknowledge or dismiss each signal, or start a PDCA cycle from it:"),
                      link]
        send_mail(subject[:200], "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [owner.email])
        ChartSignal.objects.filter(pk__in=[s.pk for s in signals]).update(notified_at=timezone.now())
    return len(signals)
