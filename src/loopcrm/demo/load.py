"""Loading the demo: the organisation and catalogue first, then customers in chunks with their orders and timeline.

Everything is generated in memory a chunk at a time and written with bulk inserts, so memory stays
flat from 20 to 200,000 customers. The whole load is one transaction: it lands completely or not
at all.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loopcrm.accounts.models import Department, Team, User
from loopcrm.commerce.models import Order, Product
from loopcrm.customers.models import ContactPerson, Customer
from loopcrm.demo.bulk import Loader, explicit_timestamps
from loopcrm.demo.calendar import DemoCalendar
from loopcrm.demo.catalogue import load_catalogue
from loopcrm.demo.clocks import load_clocks
from loopcrm.demo.customers import CustomerMaker, consent_rows, insert_customers, link_tags, load_tags
from loopcrm.demo.feedback import load_feedback
from loopcrm.demo.improvement import load_improvement
from loopcrm.demo.interactions import TimelineMaker
from loopcrm.demo.loyalty import load_loyalty
from loopcrm.demo.orders import OrderMaker, insert_orders
from loopcrm.demo.organisation import (
    DEPARTMENTS,
    MARKER_DEPARTMENT,
    PASSWORD_ENV,
    SIGN_INS,
    demo_password,
    load_organisation,
    staff_rows,
)
from loopcrm.demo.processes import load_processes
from loopcrm.demo.sla import load_sla
from loopcrm.demo.tickets import load_tickets
from loopcrm.demo.value import load_value
from loopcrm.interactions.models import Interaction

CHUNK = 2000
TODAY_ENV = "LOOPCRM_DEMO_TODAY"
MOST_CUSTOMERS = 1_000_000


def load_rollups(loader: Loader, **_context) -> None:
    """The dashboards' daily roll-ups, built from what was just loaded in bulk (which the per-answer and
    per-event upkeep never saw), so the demo reads its dashboards the way a running desk does."""
    from loopcrm.analytics.metrics import rollup as metrics_rollup
    from loopcrm.feedback.services import rollup as feedback_rollup

    feedback_rollup.rebuild()
    metrics_rollup.refresh(full=True)
    loader.say("Dashboard roll-ups built.")


DOMAIN_STEPS = (load_sla, load_tickets, load_feedback, load_clocks, load_processes, load_loyalty, load_value,
                load_improvement, load_rollups)


@dataclass(frozen=True)
class DemoSummary:
    today: dt.date
    seconds: float
    counts: dict[str, int]


def demo_loaded() -> bool:
    """True once the demo organisation exists (its head office department is the marker)."""
    return Department.objects.filter(code=MARKER_DEPARTMENT).exists()


def reference_day() -> dt.date:
    """The day the demo's history ends: LOOPCRM_DEMO_TODAY (YYYY-MM-DD) if set, else today in TIME_ZONE."""
    value = os.environ.get(TODAY_ENV, "").strip()
    return dt.date.fromisoformat(value) if value else timezone.localdate()


def why_not_empty(customers: int, seed: int) -> str:
    """Why the demo cannot go into this database, or "" when it can."""
    for model, what in ((Customer, "customers"), (Order, "orders"), (Product, "products")):
        if model.objects.exists():
            return f"the database already holds {what}"
    codes = list(Department.objects.filter(code__in=[code for code, _p, _n in DEPARTMENTS])
                 .values_list("code", flat=True))
    if codes:
        return f"departments with the demo's codes exist ({', '.join(sorted(codes))})"
    names = [row[0] for row in staff_rows(customers=customers, seed=seed)]
    taken = list(User.objects.filter(username__in=names).values_list("username", flat=True))
    if taken:
        return f"users with the demo's usernames exist ({', '.join(sorted(taken))})"
    return ""


def load_demo(
    *, customers: int = 2000, seed: int = 1, progress: Callable[[str], object] = print, today: dt.date | None = None,
) -> DemoSummary | None:
    """Load the demo into an empty database; returns what was loaded, or None (with the reason told) if nothing."""
    if not 1 <= customers <= MOST_CUSTOMERS:
        progress(f"Demo data not loaded: --customers must be between 1 and {MOST_CUSTOMERS:,}.")
        return None
    if demo_loaded():
        progress("Demo data is already loaded; nothing was added. (It loads only into an empty database.)")
        return None
    reason = why_not_empty(customers, seed)
    if reason:
        progress(f"Demo data not loaded: {reason}. The demo loads only into an empty database.")
        return None
    today = today or reference_day()
    calendar = DemoCalendar.ending(today, zoneinfo.ZoneInfo(settings.TIME_ZONE))
    loader = Loader(calendar=calendar, progress=progress)
    progress(f"    Generating {customers:,} customers with two years of history up to {today:%Y-%m-%d} (seed {seed})…")
    with transaction.atomic(), explicit_timestamps(Team, Customer, ContactPerson, Product, Order, Interaction):
        staff = load_organisation(loader, customers=customers, seed=seed)
        catalogue = load_catalogue(loader)
        tags = load_tags(loader)
        people = CustomerMaker(seed=seed, count=customers, calendar=calendar, staff=staff)
        orders = OrderMaker(seed=seed, calendar=calendar, catalogue=catalogue)
        timeline = TimelineMaker(seed=seed, calendar=calendar, staff=staff)
        consent_rng = random.Random(f"{seed}/consent")
        for start in range(0, customers, CHUNK):
            plans = [people.make(index) for index in range(start, min(customers, start + CHUNK))]
            consents, touches, placed = [], [], []
            for plan in plans:
                plan.orders = orders.orders_for(plan)
                touches += timeline.early(plan)
                consents += consent_rows(consent_rng, plan, calendar)
                touches += timeline.later(plan)
                placed += plan.orders
            insert_customers(loader, plans, consents)
            insert_orders(loader, placed)
            loader.insert(touches)
            link_tags(loader, plans, tags)
            loader.say(f"Customers {start + len(plans):,} of {customers:,}: {loader.counts['commerce.order']:,} "
                       f"orders, {loader.counts['interactions.interaction']:,} interactions so far "
                       f"({time.monotonic() - loader.started:.1f} s).")
        # The service desk, the voice of the customer, loyalty and value, each built on what came before:
        # tickets, then surveys about them (whose unhappy answers open follow-up tickets), then every
        # ticket's SLA clocks and process steps; loyalty and value read the orders; the improvement
        # engine's charts and cycle read all of it through the metric registry.
        took = []
        for step in DOMAIN_STEPS:
            begun = time.monotonic()
            step(loader, staff=staff, calendar=calendar, seed=seed)
            took.append(f"{step.__name__.removeprefix('load_')} {time.monotonic() - begun:.1f} s")
        loader.say(f"Steps took: {', '.join(took)}.")
    seconds = time.monotonic() - loader.started
    counts = loader.counts
    progress(
        f"    Loaded in {seconds:.1f} s: {counts.get('customers.customer', 0):,} customers "
        f"({counts.get('customers.contactperson', 0):,} contact persons), "
        f"{counts.get('commerce.order', 0):,} orders ({counts.get('commerce.orderline', 0):,} lines), "
        f"{counts.get('interactions.interaction', 0):,} interactions, {counts.get('accounts.user', 0):,} users."
    )
    password = f"from {PASSWORD_ENV}" if os.environ.get(PASSWORD_ENV) else repr(demo_password())
    progress(f"    Demo sign-ins (password {password}): {', '.join(SIGN_INS)}.")
    return DemoSummary(today=today, seconds=seconds, counts=dict(counts))
