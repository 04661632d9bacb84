"""Writing the timeline: every touch with a customer becomes one Interaction, attributed and audited."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import Scope, scope_for
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from loopcrm.core.text import clean_line, clean_text, listing
from loopcrm.core.times import as_utc
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.customers.queries import customers_for
from loopcrm.interactions.models import Interaction

MAX_BODY = 100_000
MAX_SUBJECT = 200
# How far ahead of the server clock a stated time may be (clock skew between systems), no more.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _choice(value: str | None, choices: type, *, field: str, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise RuleViolation(_("This field is required."), field=field)
        return ""
    if value not in choices.values:
        raise RuleViolation(
            _("Unknown %(what)s %(value)s; use one of: %(choices)s.")
            % {"what": Interaction._meta.get_field(field).verbose_name, "value": repr(value),
               "choices": listing(choices.values)},
            field=field,
        )
    return value


@transaction.atomic
def log_interaction(
    *,
    by: User,
    customer: Customer,
    channel: str,
    direction: str = Interaction.Direction.INBOUND,
    touchpoint: str = "",
    journey_stage: str = "",
    subject: str = "",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    contact: ContactPerson | None = None,
    order: Order | None = None,
    at: dt.datetime | None = None,
) -> Interaction:
    """Put one touch (a call, a mail, a visit…) on `customer`'s timeline, recorded as made by `by`.

    Anyone who may see the customer and whose role is not read-only may log a touch with them.
    `occurred_at` defaults to now and may not lie in the future; a linked order must be this
    customer's, and a contact person must work at this customer.
    """
    now = at or timezone.now()
    if not customers_for(by, "view").filter(pk=customer.pk).exists():
        raise NotFound(_("No such customer."), field="customer_id")
    if scope_for(by, "customer", "change") == Scope.NONE:
        raise PermissionDenied(_("Your role is read-only: it may not log interactions."))
    channel = _choice(channel, Channel, field="channel", required=True)
    direction = _choice(direction, Interaction.Direction, field="direction", required=True)
    touchpoint = _choice(touchpoint, Touchpoint, field="touchpoint")
    journey_stage = _choice(journey_stage, JourneyStage, field="journey_stage")
    subject = clean_line(subject, field="subject", max_length=MAX_SUBJECT)
    body = clean_text(body, field="body", max_length=MAX_BODY)

    if occurred_at is None:
        occurred_at = now
    elif not isinstance(occurred_at, dt.datetime):
        raise RuleViolation(_("A date and time is required."), field="occurred_at")
    else:
        occurred_at = as_utc(occurred_at, field="occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise RuleViolation(_("An interaction cannot have happened in the future."), field="occurred_at")

    if order is not None and order.customer_id != customer.pk:
        raise RuleViolation(_("This order belongs to another customer."), field="order_id")
    if contact is not None and contact.organisation_id != customer.pk:
        raise RuleViolation(_("This contact person does not work at this customer."), field="contact_id")

    interaction = Interaction.objects.create(
        customer=customer, contact=contact, channel=channel, direction=direction, touchpoint=touchpoint,
        journey_stage=journey_stage, subject=subject, body=body, occurred_at=occurred_at, user=by, order=order,
    )
    audit.record(
        action="create", obj=interaction, by=by, at=now,
        changes={
            "customer": customer.pk, "channel": channel, "direction": direction, "touchpoint": touchpoint,
            "journey_stage": journey_stage, "occurred_at": occurred_at, "order": order, "contact": contact,
        },
    )
    return interaction
