"""The loyalty pages: programmes, a member's balance, ledger and statement; redeem and adjust for roles that may."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from loopcrm.loyalty import services
from loopcrm.loyalty.models import Membership, PointsEntry
from tests import factories
from tests.factories import signed_in

pytestmark = pytest.mark.django_db



def test_the_programme_page_shows_tiers_and_members(club, org):
    page = signed_in(org.agent).get(reverse("web:loyalty_programmes"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "会员计划 Members" in html and "金卡 Gold" in html and "dedicated agent" in html
    # An agent sees every customer's membership, Tom's of Sales East too (decision 0008); the sales rep
    # of another team neither.
    detail = signed_in(org.agent).get(reverse("web:loyalty_programme", args=[club.programme.pk])).content.decode()
    assert "张伟" in detail and "Tom Baker" in detail
    detail = signed_in(org.east_rep).get(reverse("web:loyalty_programme", args=[club.programme.pk])).content.decode()
    assert "张伟" not in detail and "Tom Baker" not in detail


def test_the_member_page_shows_balance_tier_ledger_in_few_queries(club, org, django_assert_max_num_queries):
    for n in range(30):
        services.earn_points(club.member, points=10, idempotency_key=f"k{n}", by=None)
    client = signed_in(org.admin)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("web:loyalty_member", args=[club.member.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="balance">300<' in html
    assert "银卡 Silver" in html and "Show more entries" in html and 'id="redeem-form"' in html
    # "show more" brings the next rows only
    entries = list(PointsEntry.objects.filter(membership=club.member).order_by("-created_at", "-id"))
    from loopcrm.core.pagination import encode_cursor
    cursor = encode_cursor("-created_at", entries[24].created_at, entries[24].pk)
    more = client.get(reverse("web:loyalty_member", args=[club.member.pk]), {"cursor": cursor},
                      headers={"HX-Request": "true", "HX-Target": "more-row"})
    assert more.status_code == 200 and more.content.decode().count("<tr>") == 5


def test_an_agent_sees_the_page_without_forms_and_may_not_post(club, org):
    services.earn_points(club.member, points=100, idempotency_key="k", by=None)
    client = signed_in(org.agent)
    page = client.get(reverse("web:loyalty_member", args=[club.member.pk]))
    assert page.status_code == 200 and 'id="redeem-form"' not in page.content.decode()
    refused = client.post(reverse("web:loyalty_redeem", args=[club.member.pk]),
                          {"points": "10", "reason": "x", "idempotency_key": "abc"})
    assert refused.status_code == 403
    assert Membership.objects.get(pk=club.member.pk).balance == 100


def test_a_member_out_of_sight_is_missing(club, org):
    client = signed_in(org.east_rep)
    assert client.get(reverse("web:loyalty_member", args=[club.tom_member.pk])).status_code == 404
    assert client.post(reverse("web:loyalty_redeem", args=[club.tom_member.pk]), {"points": "1"}).status_code == 404


def test_redeem_through_the_page_once_even_when_submitted_twice(club, org):
    services.earn_points(club.member, points=100, idempotency_key="k", by=None)
    client = signed_in(org.admin)
    url = reverse("web:loyalty_redeem", args=[club.member.pk])
    form = {"points": "30", "reason": "代金券 Voucher", "idempotency_key": "form-123"}
    first = client.post(url, form, headers={"HX-Request": "true", "HX-Target": "account"})
    second = client.post(url, form, headers={"HX-Request": "true", "HX-Target": "account"})
    assert first.status_code == second.status_code == 200
    assert 'data-testid="balance">70<' in second.content.decode()
    assert Membership.objects.get(pk=club.member.pk).balance == 70


def test_overdrawing_through_the_page_shows_the_error_by_the_field(club, org):
    client = signed_in(org.admin)
    response = client.post(reverse("web:loyalty_redeem", args=[club.member.pk]),
                           {"points": "5", "reason": "", "idempotency_key": "x1"},
                           headers={"HX-Request": "true", "HX-Target": "account"})
    assert response.status_code == 422
    assert "Only 0 points are available" in response.content.decode()
    bad = client.post(reverse("web:loyalty_adjust", args=[club.member.pk]),
                      {"points": "abc", "reason": "", "idempotency_key": "x2"})
    assert bad.status_code == 422
    assert PointsEntry.objects.count() == 0


def test_a_statement_on_the_page(club, org):
    now = timezone.now()
    services.earn_points(club.member, points=300, idempotency_key="a", by=None, at=now - dt.timedelta(days=40))
    services.redeem_points(club.member, points=50, by=None, at=now - dt.timedelta(days=1))
    today = timezone.localdate()
    response = signed_in(org.exec).get(
        reverse("web:loyalty_statement", args=[club.member.pk]),
        {"start": (today - dt.timedelta(days=30)).isoformat(), "end": today.isoformat()},
        headers={"HX-Request": "true", "HX-Target": "statement"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="opening">300<' in html and "<strong>250</strong>" in html
    backwards = signed_in(org.exec).get(reverse("web:loyalty_statement", args=[club.member.pk]),
                                         {"start": today.isoformat(), "end": "2020-01-01"})
    assert backwards.status_code == 422


def test_the_pages_and_errors_speak_chinese(club, org):
    from django.utils import translation

    from loopcrm.core.errors import RuleViolation

    with translation.override("zh-hans"):
        with pytest.raises(RuleViolation) as error:
            services.redeem_points(club.member, points=5, by=org.admin)
        assert error.value.message == "可用积分只有 0，申请了 5。"
    client = signed_in(org.admin)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("web:loyalty_member", args=[club.member.pk]), headers={"Accept-Language": "zh-hans"})
    assert "积分余额" in html.content.decode() and "兑换积分" in html.content.decode()


def test_enrol_from_the_customer_card(club, org):
    from django.template.loader import render_to_string

    from loopcrm.loyalty import queries

    newcomer = factories.customer("陈静", owner=org.agent)
    assert queries.enrol_choices(org.agent, newcomer) == []  # an agent may not enrol
    choices = queries.enrol_choices(org.admin, newcomer)
    assert choices == [club.programme] and queries.enrol_choices(org.admin, club.zhang) == []
    card = render_to_string("loyalty/_customer_card.html", {"customer": newcomer, "loyalty": None,
                                                             "loyalty_enrol": choices})
    assert "Not a member" in card and 'name="programme_id"' in card
    client = signed_in(org.admin)
    response = client.post(reverse("web:loyalty_enrol"), {"customer_id": newcomer.pk,
                                                          "programme_id": club.programme.pk})
    member = Membership.objects.get(customer=newcomer)
    assert response.status_code == 302 and response["Location"] == reverse("web:loyalty_member", args=[member.pk])
    again = client.post(reverse("web:loyalty_enrol"), {"customer_id": newcomer.pk, "programme_id": club.programme.pk})
    assert again.status_code == 302 and Membership.objects.filter(customer=newcomer).count() == 1
    enrol_tom = {"customer_id": club.tom.pk, "programme_id": club.programme.pk}
    refused = signed_in(org.agent).post(reverse("web:loyalty_enrol"), enrol_tom)
    assert refused.status_code == 403  # Tom is in sight (decision 0008), but an agent may not enrol
    assert signed_in(org.east_rep).post(reverse("web:loyalty_enrol"), enrol_tom).status_code == 404  # out of sight
    assert Membership.objects.filter(customer=club.tom).count() == 1
    assert client.post(reverse("web:loyalty_enrol"), {"customer_id": "x"}).status_code == 404


@pytest.mark.parametrize(("start", "end"), [("9999-12-31", "9999-12-31"), ("0001-01-01", "2020-01-01"),
                                            ("2026-02-30", "2026-03-01"), ("", "2026-01-01"), ("x", "y")])
def test_statement_dates_out_of_range_are_refused(club, org, start, end):
    response = signed_in(org.exec).get(reverse("web:loyalty_statement", args=[club.member.pk]),
                                        {"start": start, "end": end})
    assert response.status_code == 422
