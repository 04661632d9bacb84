"""Pages of the shell (thin): the start page, the language switch. Each domain's pages live in its own views.py."""

from __future__ import annotations

import contextlib
import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import i18n

from loopcrm.accounts.services import set_preferences
from loopcrm.core.errors import RuleViolation
from loopcrm.customers.filters import CustomerFilter
from loopcrm.customers.queries import customers_for, filter_customers
from loopcrm.interactions.queries import filter_interactions, interactions_for

# Counting a million rows to print one number on a start page is not worth it: we count up to here.
COUNT_CAP = 10_000


def capped_count(queryset: QuerySet) -> tuple[int, bool]:
    """(count, capped): the number of rows, counting no further than COUNT_CAP."""
    count = queryset.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


@login_required
def home(request):
    user = request.user
    customers = customers_for(user)
    mine = filter_customers(customers, CustomerFilter(owner_id=user.pk)).order_by("-updated_at", "-id")
    touches = interactions_for(user)
    week_ago = timezone.now() - dt.timedelta(days=7)
    context = {
        "customer_count": capped_count(customers),
        "vip_count": capped_count(filter_customers(customers, CustomerFilter(is_vip=True))),
        "my_count": capped_count(mine),
        "my_customers": list(mine[:6]),
        "week_count": capped_count(filter_interactions(touches, occurred_from=week_ago)),
        "recent_interactions": list(touches.order_by("-occurred_at", "-id")[:8]),
    }
    return render(request, "web/home.html", context)


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language (a cookie for this browser, then back to `next`); for a signed-in user the
    account keeps the choice too, so it follows them to their other browsers."""
    response = i18n.set_language(request)
    language = request.POST.get("language") if request.method == "POST" else None
    if language and request.user.is_authenticated:
        # A language we do not offer is ignored here, as set_language ignores it.
        with contextlib.suppress(RuleViolation):
            set_preferences(request.user, by=request.user, language=language)
    return response
