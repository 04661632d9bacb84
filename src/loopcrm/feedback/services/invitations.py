"""Who gets a survey, when, and how: one gate (`may_survey`) for every trigger, sends and reminders.

The rules: a customer who withdrew survey consent on the channel gets nothing; nobody gets more
than one survey per fatigue period (LOOPCRM_SURVEY_FATIGUE_DAYS, default 30). Every trigger —
ticket resolved, order delivered, relationship, a list or a segment — goes through `invite`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.commerce.models import Order
from loopcrm.core import audit
from loopcrm.core.choices import Channel, Touchpoint
from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import Consent, Customer
from loopcrm.feedback.models import Invitation, Survey, Trigger
from loopcrm.feedback.services import rollup
from loopcrm.service.models import Ticket

log = logging.getLogger(__name__)

TOKEN_SALT = "loopcrm.feedback.invitation"  # noqa: S105 - an HMAC salt, not a secret
OPT_OUT, FATIGUE, NO_ADDRESS, INACTIVE = "opted_out", "fatigue", "no_address", "survey_inactive"


def fatigue_days() -> int:
    return int(getattr(settings, "LOOPCRM_SURVEY_FATIGUE_DAYS", 30))


# --- tokens ---------------------------------------------------------------------------------------

def make_token(invitation: Invitation) -> str:
    """The link's token: HMAC-SHA256 of (id, nonce) under the SECRET_KEY, base64url. Never stored."""
    digest = salted_hmac(TOKEN_SALT, f"{invitation.pk}:{invitation.token_nonce}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def public_link(token: str) -> str:
    base = getattr(settings, "LOOPCRM_PUBLIC_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("web:survey_answer", args=[token])


def _issue_token(invitation: Invitation) -> str:
    invitation.token_nonce = secrets.token_hex(16)
    token = make_token(invitation)
    invitation.token_hash = token_hash(token)
    return token


# --- the one gate ---------------------------------------------------------------------------------

def opted_out(customer: Customer, channel: str) -> bool:
    """Whether the customer's current decision on survey contact is "withdrawn" (on this channel or any)."""
    latest: dict[str, str] = {}
    rows = (Consent.objects.filter(customer=customer, purpose=Consent.Purpose.SURVEYS)
            .order_by("-at", "-id").values_list("channel", "status"))
    for row_channel, status in rows:
        latest.setdefault(row_channel, status)
    # A withdrawal on the invitation's channel stops it; so does "withdrawn" on every channel recorded.
    if latest.get(channel) == Consent.Status.WITHDRAWN:
        return True
    return bool(latest) and all(status == Consent.Status.WITHDRAWN for status in latest.values())


def recently_surveyed(customer: Customer, *, around: dt.datetime, days: int | None = None,
                      exclude: int | None = None) -> bool:
    """Whether another invitation (scheduled, sent or answered) falls within the fatigue period of `around`."""
    period = dt.timedelta(days=fatigue_days() if days is None else days)
    rows = Invitation.objects.filter(customer=customer).exclude(status=Invitation.Status.SUPPRESSED).filter(
        Q(sent_at__gt=around - period, sent_at__lt=around + period)
        | Q(sent_at__isnull=True, send_after__gt=around - period, send_after__lt=around + period)
    )
    if exclude:
        rows = rows.exclude(pk=exclude)
    return rows.exists()


def may_survey(customer: Customer, *, channel: str, at: dt.datetime, exclude: int | None = None) -> str:
    """"" when the customer may get a survey at `at` on `channel`, else the reason why not."""
    if opted_out(customer, channel):
        return OPT_OUT
    if channel == Channel.EMAIL and not customer.email:
        return NO_ADDRESS
    if recently_surveyed(customer, around=at, exclude=exclude):
        return FATIGUE
    return ""


def _language_of(customer: Customer) -> str:
    return "en" if customer.country and customer.country != "CN" else "zh-hans"


@dataclass(frozen=True)
class Source:
    """What the invitation is about (both optional) and the dimensions copied onto the answer."""

    ticket: Ticket | None = None
    order: Order | None = None
    touchpoint: str = ""


@transaction.atomic
def invite(survey: Survey, customer: Customer, *, trigger: str, send_after: dt.datetime, source: Source = Source(),
           channel: str = Channel.EMAIL, by: User | None = None, at: dt.datetime | None = None) -> Invitation:
    """Schedule one invitation, or record why it is not sent (status suppressed). Safe to repeat per source."""
    at = at or timezone.now()
    version = survey.current_version
    if version is None:
        raise RuleViolation(_("The survey has no published version."), field="survey_id")
    ticket = source.ticket
    existing = Invitation.objects.filter(survey=survey)
    if ticket is not None and (found := existing.filter(ticket=ticket).first()):
        return found
    if source.order is not None and (found := existing.filter(order=source.order).first()):
        return found
    reason = INACTIVE if not survey.is_active else may_survey(customer, channel=channel, at=send_after)
    invitation = Invitation(
        survey=survey, version=version, customer=customer, channel=channel, language=_language_of(customer),
        trigger=trigger, ticket=ticket, order=source.order, send_after=send_after, created_at=at, created_by=by,
        agent_id=getattr(ticket, "assignee_id", None), department_id=getattr(ticket, "department_id", None),
        touchpoint=source.touchpoint or (Touchpoint.DELIVERY if source.order else ""),
        status=Invitation.Status.SUPPRESSED if reason else Invitation.Status.SCHEDULED, suppressed_reason=reason,
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:  # the same ticket or order invited by a concurrent sweep
        found = existing.filter(Q(ticket=ticket) if ticket else Q(order=source.order)).first()
        if found is None:
            raise
        return found
    return invitation


# --- triggers -------------------------------------------------------------------------------------

def _active(trigger: str) -> list[Survey]:
    return [s for s in Survey.objects.filter(trigger=trigger, is_active=True) if s.current_version is not None]


def on_ticket_resolved(ticket: Ticket, at: dt.datetime) -> list[Invitation]:
    """Schedule the ticket-resolved surveys, each `delay_hours` after resolution (sent by `send_due`)."""
    resolved = ticket.resolved_at or at
    return [
        invite(survey, ticket.customer, trigger=Trigger.TICKET_RESOLVED, at=at,
               send_after=resolved + dt.timedelta(hours=survey.delay_hours),
               source=Source(ticket=ticket, touchpoint=Touchpoint.HOTLINE if ticket.channel == Channel.PHONE else ""))
        for survey in _active(Trigger.TICKET_RESOLVED)
    ]


def invite_for_resolved_tickets(at: dt.datetime | None = None, *, lookback_days: int = 7, limit: int = 5000) -> int:
    """The sweep: resolved tickets of the last `lookback_days` without an invitation get one. Returns how many."""
    at = at or timezone.now()
    count = 0
    for survey in _active(Trigger.TICKET_RESOLVED):
        tickets = (Ticket.objects.filter(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED],
                                         resolved_at__gte=at - dt.timedelta(days=lookback_days), resolved_at__lte=at)
                   .exclude(survey_invitations__survey=survey).select_related("customer").order_by("resolved_at")[:limit])
        for ticket in tickets:
            invite(survey, ticket.customer, trigger=Trigger.TICKET_RESOLVED, at=at,
                   send_after=ticket.resolved_at + dt.timedelta(hours=survey.delay_hours), source=Source(ticket=ticket))
            count += 1
    return count


def invite_for_delivered_orders(at: dt.datetime | None = None, *, lookback_days: int = 7, limit: int = 5000) -> int:
    """The sweep over commerce: orders delivered in the last `lookback_days` without an invitation get one."""
    at = at or timezone.now()
    count = 0
    for survey in _active(Trigger.ORDER_DELIVERED):
        orders = (Order.objects.filter(status=Order.Status.DELIVERED, delivered_at__isnull=False,
                                       delivered_at__gte=at - dt.timedelta(days=lookback_days), delivered_at__lte=at)
                  .exclude(survey_invitations__survey=survey).select_related("customer").order_by("delivered_at")[:limit])
        for order in orders:
            invite(survey, order.customer, trigger=Trigger.ORDER_DELIVERED, at=at,
                   send_after=order.delivered_at + dt.timedelta(hours=survey.delay_hours),
                   source=Source(order=order, touchpoint=Touchpoint.DELIVERY))
            count += 1
    return count


def invite_relationship(survey: Survey, at: dt.datetime | None = None, *, every_days: int = 90,
                        limit: int = 5000) -> int:
    """Periodic relationship NPS: customers with an email not invited to `survey` for `every_days`."""
    at = at or timezone.now()
    recent = Invitation.objects.filter(survey=survey, created_at__gte=at - dt.timedelta(days=every_days))
    customers = (Customer.objects.filter(merged_into__isnull=True).exclude(email="")
                 .exclude(pk__in=recent.values("customer_id")).order_by("id")[:limit])
    count = 0
    for customer in customers:
        invite(survey, customer, trigger=Trigger.RELATIONSHIP, send_after=at, at=at)
        count += 1
    return count


def send_to_customers(survey: Survey, customers: Iterable[Customer], *, by: User,
                      at: dt.datetime | None = None) -> list[Invitation]:
    """Manual send to a list: each customer still passes the consent and fatigue gate."""
    at = at or timezone.now()
    invitations = [invite(survey, customer, trigger=Trigger.MANUAL, send_after=at, by=by, at=at)
                   for customer in customers]
    audit.record(action="create", obj=survey, by=by, at=at,
                 note=f"manual survey send to {len(invitations)} customers")
    return invitations


def segment_customers(segment_id: int, *, user: User, limit: int = 100_000) -> list[Customer]:
    """Members of a value segment that `user` may see (value.queries.segment_members)."""
    from loopcrm.value import queries as value_queries

    segment = value_queries.get_segment_for(user, segment_id)
    return list(value_queries.segment_members(segment, user=user)[:limit])


# --- sending and reminding ------------------------------------------------------------------------

def _deliver(invitation: Invitation, token: str, *, reminder: bool) -> None:
    customer = invitation.customer
    version = invitation.version
    with translation.override(invitation.language):
        context = {
            "greeting": customer.name, "title": version.title(invitation.language), "link": public_link(token),
            "reminder": reminder, "expires_at": invitation.expires_at,
        }
        subject = (_("Reminder: %(title)s") if reminder else "%(title)s") % {"title": context["title"]}
        text = render_to_string("feedback/email/invitation.txt", context)
        html = render_to_string("feedback/email/invitation.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[customer.email],
                                     headers={"Auto-Submitted": "auto-generated"})
    message.attach_alternative(html, "text/html")
    message.send()


def send_invitation(invitation: Invitation, *, at: dt.datetime | None = None) -> Invitation:
    """Send one scheduled invitation now (consent is checked again: it may have been withdrawn since)."""
    at = at or timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().select_related("customer", "version", "survey").get(
            pk=invitation.pk)
        if invitation.status != Invitation.Status.SCHEDULED:
            return invitation
        reason = OPT_OUT if opted_out(invitation.customer, invitation.channel) else ""
        if not reason and invitation.channel == Channel.EMAIL and not invitation.customer.email:
            reason = NO_ADDRESS
        if reason:
            invitation.status, invitation.suppressed_reason = Invitation.Status.SUPPRESSED, reason
            invitation.save(update_fields=["status", "suppressed_reason"])
            return invitation
        token = _issue_token(invitation)
        invitation.status = Invitation.Status.SENT
        invitation.sent_at = at
        invitation.expires_at = at + dt.timedelta(days=invitation.survey.valid_days)
        invitation.save(update_fields=["status", "sent_at", "expires_at", "token_hash", "token_nonce"])
        rollup.count_invitation(invitation, sent=1)
        if invitation.channel == Channel.EMAIL:
            transaction.on_commit(lambda: _deliver_logged(invitation, token, reminder=False))
    return invitation


def _deliver_logged(invitation: Invitation, token: str, *, reminder: bool) -> None:
    try:
        _deliver(invitation, token, reminder=reminder)
    except OSError:
        log.exception("survey invitation %s: mail not delivered", invitation.pk)


def link_for(invitation: Invitation) -> str:
    """The answer link of a sent invitation (for channels other than email: SMS, WeChat, an agent)."""
    if invitation.status == Invitation.Status.SCHEDULED or not invitation.token_nonce:
        raise RuleViolation(_("The invitation has not been sent yet."), field="invitation_id")
    return public_link(make_token(invitation))


def send_due(at: dt.datetime | None = None, *, limit: int = 1000) -> int:
    """Send every scheduled invitation whose time has come. Returns how many were sent."""
    at = at or timezone.now()
    due = Invitation.objects.filter(status=Invitation.Status.SCHEDULED, send_after__lte=at).order_by("send_after")
    sent = 0
    for invitation in due[:limit]:
        if send_invitation(invitation, at=at).status == Invitation.Status.SENT:
            sent += 1
    return sent


def send_reminders(at: dt.datetime | None = None, *, limit: int = 1000) -> int:
    """The one reminder: sent, unanswered, not yet reminded, past the survey's reminder delay, not expired."""
    at = at or timezone.now()
    candidates = (Invitation.objects.filter(status=Invitation.Status.SENT, reminded_at__isnull=True,
                                            answered_at__isnull=True, expires_at__gt=at)
                  .select_related("survey")[:limit * 2])
    count = 0
    for invitation in candidates:
        if invitation.sent_at + dt.timedelta(days=invitation.survey.remind_after_days) > at or count >= limit:
            continue
        with transaction.atomic():
            locked = Invitation.objects.select_for_update().select_related("customer", "version").get(pk=invitation.pk)
            if locked.reminded_at is not None or locked.answered_at is not None:
                continue
            if opted_out(locked.customer, locked.channel):
                continue
            locked.reminded_at = at
            locked.save(update_fields=["reminded_at"])
            if locked.channel == Channel.EMAIL:
                token = make_token(locked)
                transaction.on_commit(lambda inv=locked, tok=token: _deliver_logged(inv, tok, reminder=True))
            count += 1
    return count


def run_sweeps(at: dt.datetime | None = None) -> dict[str, int]:
    """Everything the worker runs periodically, in order: triggers, sends, reminders."""
    at = at or timezone.now()
    return {
        "tickets": invite_for_resolved_tickets(at),
        "orders": invite_for_delivered_orders(at),
        "sent": send_due(at),
        "reminded": send_reminders(at),
    }
