"""Satisfaction in segment rules: who gave which survey answer in the last N days, counted by the value app's
rules, its builder and its API, with the same answer on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import Customer
from loopcrm.feedback import services
from loopcrm.feedback.models import SurveyKind
from loopcrm.value import choices, queries
from loopcrm.value import services as value_services
from loopcrm.value.forms import SegmentForm
from loopcrm.value.segments import FIELDS
from tests import factories
from tests.feedback.conftest import make_survey, sent_invitation

pytestmark = pytest.mark.django_db


def answer(survey, customer, rating, *, days_ago: int, submit: bool = True) -> None:
    """`customer` rates `survey`'s first question `rating`, `days_ago` days before now."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    _invitation, token = sent_invitation(survey, customer, at=at)
    question = survey.current_version.questions.order_by("position").first()
    services.save_answers(token, {f"q{question.pk}": rating}, submit=submit, at=at)


@pytest.fixture
def voices(org):
    """Five customers: a recent detractor, a recent promoter who was unhappy 50 days ago, a passive of 200 days
    ago who found something hard 5 days ago, one who started a survey and never sent it, one never asked."""
    nps, csat, ces = (make_survey(org.admin, kind) for kind in (SurveyKind.NPS, SurveyKind.CSAT, SurveyKind.CES))
    people = SimpleNamespace(**{key: factories.customer(name, owner=org.agent, email=f"{key}@example.com")
                                for key, name in (("detractor", "张伟"), ("promoter", "李娜"), ("passive", "王芳"),
                                                  ("unsent", "赵敏"), ("silent", "刘洋"))})
    answer(nps, people.detractor, 3, days_ago=10)
    answer(nps, people.promoter, 9, days_ago=10)
    answer(csat, people.promoter, 2, days_ago=50)
    answer(nps, people.passive, 7, days_ago=200)
    answer(ces, people.passive, 6, days_ago=5)
    answer(nps, people.unsent, 0, days_ago=3, submit=False)
    return people


def matched(rule) -> set[int]:
    """Members of `rule`, after checking that its live count (the fast paths included) agrees."""
    members = set(queries.rule_members(rule).values_list("pk", flat=True))
    assert queries.rule_count(rule) == len(members)
    return members


def everyone() -> set[int]:
    return set(Customer.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))


def nps(group: str, days: int, op: str = "in_last_days") -> dict:
    return {"field": "nps_group", "op": op, "value": {"group": group, "days": days}}


def test_nps_groups_in_a_window(voices):
    assert matched(nps("detractor", 30)) == {voices.detractor.pk}  # the unsent 0 does not count
    assert matched(nps("promoter", 30)) == {voices.promoter.pk}
    assert matched(nps("passive", 30)) == set()
    assert matched(nps("passive", 365)) == {voices.passive.pk}
    assert matched(nps("detractor", 30, op="not_in_last_days")) == everyone() - {voices.detractor.pk}


def test_ratings_at_most_and_at_least(voices):
    def rating(field, op, value, days):
        return {"field": field, "op": op, "value": {"rating": value, "days": days}}

    assert matched(rating("csat_rating", "lte", 2, 60)) == {voices.promoter.pk}
    assert matched(rating("csat_rating", "lte", 2, 30)) == set()  # 50 days ago is outside
    assert matched(rating("csat_rating", "gte", 3, 60)) == set()
    assert matched(rating("ces_rating", "gte", 5, 30)) == {voices.passive.pk}
    assert matched(rating("ces_rating", "lte", 5, 30)) == set()


def test_answered_any_survey(voices):
    answered = {"field": "answered_survey", "op": "in_last_days", "value": {"days": 30}}
    assert matched(answered) == {voices.detractor.pk, voices.promoter.pk, voices.passive.pk}
    quiet = {"field": "answered_survey", "op": "not_in_last_days", "value": {"days": 30}}
    assert matched(quiet) == everyone() - {voices.detractor.pk, voices.promoter.pk, voices.passive.pk}
    assert {voices.unsent.pk, voices.silent.pk} <= matched(quiet)


def test_satisfaction_combines_with_customer_and_value_fields(org, voices):
    product = factories.product("龙井", price="120.00")
    factories.order(voices.detractor, lines=[(product, 1)], placed_at=timezone.now() - dt.timedelta(days=3))
    factories.order(voices.promoter, lines=[(product, 1)], placed_at=timezone.now() - dt.timedelta(days=3))
    value_services.recompute_all()
    buyers_unhappy = {"all": [{"field": "frequency", "op": "gte", "value": 1}, nps("detractor", 30)]}
    assert matched(buyers_unhappy) == {voices.detractor.pk}  # counted on the value table alone
    either = {"any": [nps("promoter", 30), {"field": "city", "op": "eq", "value": "nowhere"}]}
    assert matched(either) == {voices.promoter.pk}
    assert matched({"not": nps("promoter", 30)}) == everyone() - {voices.promoter.pk}


@pytest.mark.parametrize(("rule", "field", "says"), [
    (nps("angry", 30), "rule.value.group", "promoter, passive, detractor"),
    ({"field": "csat_rating", "op": "lte", "value": {"rating": 9, "days": 30}}, "rule.value.rating", "1, 2, 3, 4, 5"),
    ({"field": "csat_rating", "op": "lte", "value": {"rating": True, "days": 30}}, "rule.value.rating", "1, 2"),
    ({"field": "ces_rating", "op": "gte", "value": {"rating": 3}}, "rule.value", "days, rating"),
    ({"field": "ces_rating", "op": "in_last_days", "value": {"rating": 3, "days": 5}}, "rule.op", "lte, gte"),
    (nps("detractor", 0), "rule.value.days", "1"),
    ({"field": "answered_survey", "op": "in_last_days", "value": 30}, "rule.value", "days"),
])
def test_bad_conditions_name_their_place(voices, rule, field, says):
    with pytest.raises(RuleViolation) as error:
        queries.rule_count(rule)
    assert error.value.field == field and says in error.value.message


def test_the_builder_offers_and_reads_them(voices):
    assert {"nps_group", "csat_rating", "ces_rating", "answered_survey"} <= set(FIELDS)
    groups = choices.field_options("nps_group")
    assert groups.closed and [value for value, _label in groups.values] == ["promoter", "passive", "detractor"]
    assert [value for value, _label in choices.field_options("ces_rating").values] == [str(n) for n in range(1, 8)]
    assert choices.needs_days("csat_rating", "lte") and choices.needs_value("csat_rating", "lte")
    assert choices.needs_days("answered_survey", "in_last_days")
    assert not choices.needs_value("answered_survey", "in_last_days")
    form = SegmentForm({"match": "all", "field_0": "csat_rating", "op_0": "lte", "value_0": "2", "days_0": "60",
                        "field_1": "answered_survey", "op_1": "not_in_last_days", "days_1": "365"})
    assert form.is_valid(), form.errors
    rule = form.rule()
    assert rule == {"all": [{"field": "csat_rating", "op": "lte", "value": {"rating": 2, "days": 60}},
                            {"field": "answered_survey", "op": "not_in_last_days", "value": {"days": 365}}]}
    assert matched(rule) == set()  # the unhappy customer answered within the year
    again = SegmentForm(initial=SegmentForm.initial_for(rule))
    assert (again.initial["value_0"], again.initial["days_0"], again.initial["days_1"]) == ("2", 60, 365)


def test_the_builder_page_counts_them(org, voices):
    client = factories.signed_in(org.admin)
    response = client.post("/segments/preview/", {"match": "all", "field_0": "nps_group", "op_0": "in_last_days",
                                                   "value_0": "detractor", "days_0": "30"})
    assert response.status_code == 200
    assert "data-count>1</strong>" in response.content.decode()
    row = client.get("/segments/row/", {"row": 0, "field_0": "nps_group"},
                     headers={"HX-Request": "true", "HX-Trigger-Name": "field_0"}).content.decode()
    assert 'value="detractor"' in row and "detractor (0–6)" in row


def test_the_api_previews_and_saves_them(api_as, voices):
    admin = api_as("admin")
    preview = admin.post("segments/preview", json={"rule": nps("promoter", 30)})
    assert preview.status_code == 200 and preview.json()["count"] == 1
    saved = admin.post("segments", json={"name": "Recent detractors", "rule": nps("detractor", 30)})
    assert saved.status_code == 201
    assert admin.get(f"segments/{saved.json()['id']}/count").json()["count"] == 1
    bad = admin.post("segments/preview", json={"rule": nps("angry", 30)})
    assert bad.status_code == 422 and "rule.value.group" in bad.text
