"""Story: an evaluator runs `loopcrm demo` on an empty database and looks around.

One small load (60 customers, reference day 15 March 2026) is shared by the tests of this module
and rolled back at the end.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from decimal import Decimal

import phonenumbers
import pytest
from django.db import transaction
from django.db.models import Count, Min, Sum

from loopcrm.accounts.models import Department, Role, Team, User
from loopcrm.commerce.models import Order, OrderLine
from loopcrm.core.choices import Channel, JourneyStage, Touchpoint
from loopcrm.core.models import AuditEntry
from loopcrm.customers.models import Consent, ContactPerson, Customer
from loopcrm.demo import demo_loaded, load_demo
from loopcrm.demo.organisation import DEFAULT_DEMO_PASSWORD, SIGN_INS
from loopcrm.feedback.models import Response
from loopcrm.interactions.models import Interaction
from loopcrm.loyalty.models import Membership, PointsEntry
from loopcrm.service.models import SlaClock, Ticket, TicketEvent, TicketProcess
from loopcrm.value.models import CustomerValue

TODAY = dt.date(2026, 3, 15)
NOW = dt.datetime(2026, 3, 15, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
CJK = re.compile(r"[\u4e00-\u9fff]")


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo loaded once for the module; everything is rolled back afterwards."""
    messages: list[str] = []
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                summary = load_demo(customers=60, seed=3, progress=messages.append, today=TODAY)
                yield summary, messages
                raise _Rollback
        except _Rollback:
            pass


pytestmark = pytest.mark.django_db


def test_every_role_has_a_demo_user_who_signs_in_with_the_documented_password(demo, monkeypatch):
    summary, messages = demo
    assert summary is not None and demo_loaded()
    assert {user.role for user in User.objects.all()} == set(Role.values)
    assert not User.objects.filter(username="admin").exists()  # the demo never makes or touches 'admin'
    for username in SIGN_INS:
        assert User.objects.get(username=username).check_password(DEFAULT_DEMO_PASSWORD)
    assert sum("Demo sign-ins" in message for message in messages) == 1


def test_the_organisation_is_a_tree_with_service_teams(demo):
    head = Department.objects.get(code="hq")
    for department in Department.objects.exclude(pk=head.pk):
        assert department.path.startswith(head.path) and department.path.endswith(f"/{department.pk}/")
    east = Department.objects.get(code="sales-east")
    assert east.parent.code == "sales" and "华东" in east.name
    service_teams = set(Team.objects.filter(department__code="cs").values_list("name", flat=True))
    assert service_teams == {"热线组 Hotline", "在线组 Online"}
    for team in Team.objects.all():
        assert team.lead in team.members.all()


def test_customers_are_mostly_chinese_people_with_some_abroad_and_some_organisations(demo):
    customers = Customer.objects.all()
    assert customers.count() == 60
    kinds = Counter(customers.values_list("kind", flat=True))
    assert kinds == {"person": 57, "organisation": 3}
    abroad = customers.exclude(country="CN")
    assert abroad.count() == 10  # 15 % people abroad + 1 % organisations abroad, rounded
    for customer in customers:
        number = phonenumbers.parse(customer.phone)
        assert phonenumbers.is_valid_number(number), customer.phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == customer.phone
        assert (customer.country == "CN") == customer.phone.startswith("+86")
        assert (customer.country == "CN") == bool(CJK.search(customer.name))
        if customer.country == "CN":
            assert customer.province and customer.city and customer.district and customer.street
        if customer.owner is not None:
            assert customer.department == customer.owner.department
        assert customer.created_at < NOW
    assert customers.filter(kind="person", country="CN", phone__startswith="+861").count() == 48


def test_organisations_have_one_to_three_contacts_and_one_primary(demo):
    for organisation in Customer.objects.filter(kind="organisation"):
        contacts = list(organisation.contacts.all())
        assert 1 <= len(contacts) <= 3
        assert sum(contact.is_primary for contact in contacts) == 1
    assert ContactPerson.objects.filter(organisation__kind="person").count() == 0


def test_consent_is_recorded_and_withdrawals_follow_grants(demo):
    service = Consent.objects.filter(purpose="service", status="granted").values("customer").distinct().count()
    assert service >= 50
    assert Consent.objects.filter(purpose="marketing", status="granted").exists()
    for withdrawal in Consent.objects.filter(status="withdrawn"):
        grant = Consent.objects.get(customer=withdrawal.customer, channel=withdrawal.channel,
                                    purpose=withdrawal.purpose, status="granted")
        assert grant.at < withdrawal.at < NOW


def test_orders_add_up_and_their_status_fits_their_age(demo):
    orders = Order.objects.annotate(lines_total=Sum("lines__amount"), line_count=Count("lines"))
    assert orders.count() > 100
    for order in orders:
        assert 1 <= order.line_count <= 4
        assert order.total == order.lines_total
        assert order.placed_at < NOW and order.customer.created_at <= order.placed_at
        if order.status in (Order.Status.DELIVERED, Order.Status.RETURNED):
            assert order.placed_at <= order.delivered_at < NOW
        else:
            assert order.delivered_at is None
        if NOW - order.placed_at > dt.timedelta(days=30):
            assert order.status in (Order.Status.DELIVERED, Order.Status.CANCELLED, Order.Status.RETURNED)
    for line in OrderLine.objects.all():  # compared in Python: SQLite does decimal arithmetic in floating point
        assert line.amount == line.unit_price * line.quantity
    assert OrderLine.objects.filter(unit_price__gt=Decimal("1000")).exists()
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {Order.Status.DELIVERED, Order.Status.CANCELLED, Order.Status.RETURNED} <= statuses


def test_interactions_cover_every_channel_in_the_customers_language(demo):
    channels = set(Interaction.objects.values_list("channel", flat=True))
    assert set(Channel.values) - {Channel.OTHER} <= channels
    assert set(Interaction.objects.values_list("journey_stage", flat=True)) - {""} <= set(JourneyStage.values)
    assert set(Interaction.objects.values_list("touchpoint", flat=True)) - {""} <= set(Touchpoint.values)
    for interaction in Interaction.objects.select_related("customer", "order"):
        assert interaction.customer.created_at <= interaction.occurred_at < NOW
        chinese = interaction.customer.country == "CN"
        assert bool(CJK.search(interaction.subject + interaction.body)) == chinese, interaction.body
        if interaction.order is not None and interaction.journey_stage in ("delivery", "use", "service"):
            assert interaction.occurred_at > interaction.order.placed_at
    delivered = Interaction.objects.filter(journey_stage="delivery", order__isnull=False)
    assert delivered.exists()
    assert Interaction.objects.filter(journey_stage="service", channel="phone", user__role="agent").exists()


def test_awareness_and_consideration_come_before_the_first_order(demo):
    first_orders = dict(Customer.objects.annotate(first=Min("orders__placed_at")).values_list("pk", "first"))
    early = Interaction.objects.filter(journey_stage__in=["awareness", "consideration"])
    assert early.exists()
    for customer_id, occurred_at in early.values_list("customer_id", "occurred_at"):
        first = first_orders[customer_id]
        assert first is None or occurred_at < first


def test_marketing_reaches_only_customers_who_agreed_on_that_channel(demo):
    campaigns = Interaction.objects.filter(journey_stage="loyalty", user__role="marketing")
    assert campaigns.exists()
    for touch in campaigns:
        decisions = Consent.objects.filter(customer=touch.customer, purpose="marketing", channel=touch.channel,
                                           at__lte=touch.occurred_at).order_by("-at")
        assert decisions and decisions[0].status == "granted", touch.subject


def test_bulk_writes_leave_audit_rows(demo):
    entries = AuditEntry.objects.filter(note="demo data", actor__isnull=True)
    customer_ids = set(Customer.objects.values_list("pk", flat=True))
    audited = {int(pk) for pk in entries.filter(object_type="customers.customer").values_list("object_id", flat=True)}
    assert audited == customer_ids
    assert entries.filter(object_type="commerce.order").count() == Order.objects.count()
    assert entries.filter(object_type="interactions.interaction").count() == Interaction.objects.count()


def test_a_second_load_adds_nothing_and_says_so(demo):
    before = (Customer.objects.count(), Order.objects.count(), User.objects.count())
    messages: list[str] = []
    assert load_demo(customers=60, seed=3, progress=messages.append, today=TODAY) is None
    assert "already loaded" in messages[0]
    assert (Customer.objects.count(), Order.objects.count(), User.objects.count()) == before


# --- the service desk, the voice of the customer, value and loyalty, loaded by the same call ----------

def test_every_ticket_has_its_log_its_process_and_its_sla_clocks(demo):
    tickets = Ticket.objects.all()
    assert tickets.count() > 20
    assert TicketEvent.objects.filter(kind="created").count() == tickets.count()
    assert TicketProcess.objects.count() == tickets.count()
    assert not TicketEvent.objects.filter(at__gte=NOW).exists()
    clocks = Counter(SlaClock.objects.values_list("metric", flat=True))
    assert clocks == {"first_response": tickets.count(), "resolution": tickets.count()}
    for clock in SlaClock.objects.filter(state="met").select_related("ticket"):
        assert clock.elapsed_seconds is not None and clock.started_at <= clock.met_at < NOW
        assert clock.breached == (clock.elapsed_seconds > clock.target_minutes * 60 or clock.breached_at is not None)
        if clock.metric == "first_response":
            assert clock.met_at == clock.ticket.first_response_at
    breached = SlaClock.objects.filter(breached=True, breached_at__isnull=False)
    assert breached.exists()
    assert TicketEvent.objects.filter(kind="sla_breached").count() == breached.count()


def test_customers_answered_surveys_and_have_value_tiers_and_loyalty_memberships(demo):
    answered = Response.objects.filter(is_complete=True)
    assert answered.exclude(csat=None).exists() and answered.exclude(nps=None).exists()
    assert CustomerValue.objects.count() == Customer.objects.count()
    assert {"high", "medium", "low"} <= set(CustomerValue.objects.values_list("tier", flat=True))
    members = Membership.objects.all()
    assert members.exists()
    for member in members:
        assert member.balance == sum(PointsEntry.objects.filter(membership=member).values_list("amount", flat=True))
