"""Pages: the public request form (no login, rate-limited, spam-resistant) and its confirmation."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loopcrm.core import ratelimit
from loopcrm.core.errors import DomainError
from loopcrm.service.models import Ticket
from loopcrm.service.public_forms import SupportRequestForm
from loopcrm.service.services import intake

RECEIPT_SALT = "loopcrm.service.request-receipt"


def _limit() -> tuple[int, int]:
    return (int(getattr(settings, "LOOPCRM_WEBFORM_LIMIT", 5)), int(getattr(settings, "LOOPCRM_WEBFORM_WINDOW", 600)))


@require_http_methods(["GET", "POST"])
def support_request(request):
    form = SupportRequestForm(request.POST or None)
    if request.method == "POST":
        limit, window = _limit()
        decision = ratelimit.hit(f"webform:{ratelimit.client_ip(request)}", limit=limit, window=window)
        if not decision.allowed:
            response = render(request, "service/intake/request.html", {"form": form, "too_many": True}, status=429)
            response["Retry-After"] = str(decision.retry_after)
            return response
        if form.is_valid():
            if form.looks_automated():
                # Answer like a success so a bot learns nothing; nothing is stored.
                return redirect(reverse("web:support_received", args=["-"]))
            try:
                ticket = intake.submit_web_request(
                    name=form.cleaned_data["name"], email=form.cleaned_data["email"],
                    phone=form.cleaned_data["phone"], subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["message"], order_reference=form.cleaned_data["order_reference"],
                )
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error.message))
            else:
                receipt = signing.dumps(ticket.pk, salt=RECEIPT_SALT)
                return redirect(reverse("web:support_received", args=[receipt]))
    status = 422 if request.method == "POST" else 200
    return render(request, "service/intake/request.html", {"form": form}, status=status)


def support_received(request, receipt: str) -> HttpResponse:
    """The confirmation: the ticket number only (a receipt reveals nothing else about the request)."""
    reference = None
    if receipt != "-":
        try:
            ticket_id = signing.loads(receipt, salt=RECEIPT_SALT, max_age=3600)
        except signing.BadSignature as error:
            raise Http404(_("This confirmation link is not valid.")) from error
        reference = Ticket.objects.filter(pk=ticket_id).values_list("pk", flat=True).first()
    return render(request, "service/intake/received.html", {"reference": reference})


urlpatterns = [
    path("support/", support_request, name="support_request"),
    path("support/received/<str:receipt>/", support_received, name="support_received"),
]
