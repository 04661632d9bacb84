"""Order pages (thin): the list, filtered by OrderFilter as the API list is, and one order with its lines."""

from __future__ import annotations

import pydantic
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from loopcrm.commerce.forms import OrderFilterForm
from loopcrm.commerce.queries import filter_orders, get_order_for, orders_for
from loopcrm.commerce.schemas import ORDER_SORTS, OrderFilter
from loopcrm.core.errors import DomainError
from loopcrm.core.pages import (
    bad_filters_message,
    domain_pages,
    end_of_day,
    is_filtered,
    list_problem,
    query_params,
    render_list,
)
from loopcrm.core.pagination import paginate
from loopcrm.customers.queries import get_customer_for

FILTER_NAMES = frozenset(OrderFilter.model_fields) - {"limit"}


@login_required
@vary_on_headers("HX-Request", "HX-Target")
@require_http_methods(["GET", "HEAD"])
def order_list(request: HttpRequest) -> HttpResponse:
    params = query_params(request, FILTER_NAMES)
    form = OrderFilterForm(request.GET or None)
    page = problem = customer = None
    end_of_day(params, "placed_to")
    try:
        filters = OrderFilter(**params)
        if filters.customer_id is not None:
            customer = get_customer_for(request.user, filters.customer_id)
        rows = filter_orders(
            orders_for(request.user), customer_id=filters.customer_id, status=filters.status, channel=filters.channel,
            placed_from=filters.placed_from, placed_to=filters.placed_to, q=filters.q,
        )
        page = paginate(rows, sort=filters.sort, allowed=ORDER_SORTS, cursor=filters.cursor)
    except pydantic.ValidationError as error:
        problem = bad_filters_message(error, {name: field.label for name, field in form.fields.items()})
    except DomainError as error:  # the customer filtered by is out of sight, an unknown sort, a bad cursor
        problem = list_problem(error, not_found=_("That customer does not exist or is outside what you may see."))
    context = {"form": form, "page": page, "problem": problem, "customer": customer, "is_filtered": is_filtered(params)}
    return render_list(request, "commerce/order_list.html", context)


@login_required
@domain_pages
@require_http_methods(["GET", "HEAD"])
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_order_for(request.user, order_id, with_lines=True)
    return render(request, "commerce/order_detail.html", {"order": order})
