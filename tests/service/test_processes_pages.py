"""Process pages: the list, creating a process, the editor that publishes versions, the version page with its
flowchart, and who may do what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loopcrm.service.models import ProcessDefinition, ProcessVersion
from tests import factories
from tests.factories import signed_in
from tests.service.test_processes_helpers import repair_process

pytestmark = pytest.mark.django_db



def editor_data(steps: list[dict], *, initial: int = 0, note: str = "", **process) -> dict:
    data = {"steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": str(initial), "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "50", "change_note": note, "name": "Repair 维修流程", "ticket_kind": "repair",
            "is_active": "on", **process}
    for index, step in enumerate(steps):
        for name, value in step.items():
            data[f"steps-{index}-{name}"] = value
    return data


DIAGNOSE = {"key": "diagnose", "name": "Diagnose 诊断", "responsible_role": "agent", "target_minutes": "60",
            "is_mandatory": "on", "checklist": "Serial number noted\nPhoto received", "ORDER": "1",
            "complete_on_status": "on_hold"}
REPAIR = {"key": "repair", "name": "Repair 维修", "target_minutes": "240", "is_mandatory": "on", "ORDER": "2",
          "required_fields": ["corrective_action"]}
EMPTY = {"ORDER": "", "is_mandatory": "on"}  # an extra row left as it came


def test_an_admin_creates_a_process_and_publishes_two_versions(org):
    admin = signed_in(org.admin)
    created = admin.post(reverse("web:process_create"), {"key": "repair", "name": "Repair 维修流程",
                                                         "ticket_kind": "repair"})
    definition = ProcessDefinition.objects.get(key="repair")
    assert created["Location"] == reverse("web:process_edit", args=[definition.pk])
    assert admin.get(reverse("web:process_detail", args=[definition.pk]))["Location"] == \
        reverse("web:process_edit", args=[definition.pk])  # nothing published yet: the editor

    published = admin.post(reverse("web:process_edit", args=[definition.pk]),
                           editor_data([REPAIR | {"ORDER": "2"}, DIAGNOSE | {"ORDER": "1"}, EMPTY], note="first"))
    assert published.status_code == 302, published.content.decode()[:3000]
    v1 = ProcessVersion.objects.get(definition=definition)
    assert [(step.key, step.checklist) for step in v1.steps.all()] == [
        ("diagnose", ["Serial number noted", "Photo received"]), ("repair", []),
    ]

    page = admin.get(published["Location"]).content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="flowchart"' in page
    assert 'data-key="diagnose"' in page and "Diagnose 诊断" in page

    editor = admin.get(reverse("web:process_edit", args=[definition.pk])).content.decode()
    assert 'value="diagnose"' in editor and "Photo received" in editor  # starts from the current version
    again = admin.post(reverse("web:process_edit", args=[definition.pk]), editor_data(
        [DIAGNOSE, REPAIR | {"target_minutes": "120"}, {"key": "call-back", "name": "Call back", "target_minutes": "30",
                                                       "ORDER": "3"}],
        initial=2, note="faster repairs, a call back"))
    assert again["Location"] == reverse("web:process_version", args=[definition.pk, 2])
    v1.refresh_from_db()
    assert not v1.is_current
    assert [step.target_minutes for step in v1.steps.all()] == [60, 240]
    old_page = admin.get(reverse("web:process_version", args=[definition.pk, 1])).content.decode()
    assert "earlier version" in old_page

    listing = admin.get(reverse("web:process_list")).content.decode()
    assert "Repair 维修流程" in listing and "v2" in listing


@pytest.mark.parametrize(("steps", "message"), [
    ([DIAGNOSE, REPAIR | {"key": "diagnose"}], "another step already has the key diagnose"),
    ([DIAGNOSE | {"target_minutes": "0"}], "Ensure this value is greater than or equal to 1"),
    ([DIAGNOSE | {"start_on_status": "on_hold"}], "cannot start and complete on the same status"),
    ([EMPTY], "A process needs at least one step"),
    ([DIAGNOSE | {"DELETE": "on"}], "A process needs at least one step"),
])
def test_the_editor_shows_what_is_wrong_and_publishes_nothing(org, steps, message):
    definition, _version = repair_process(org.admin)
    answer = signed_in(org.admin).post(reverse("web:process_edit", args=[definition.pk]), editor_data(steps))
    assert answer.status_code == 422
    assert message in answer.content.decode()
    assert ProcessVersion.objects.filter(definition=definition).count() == 1


@pytest.mark.parametrize(("persona", "read", "write"), [
    ("admin", 200, 200), ("lead", 200, 403), ("agent", 200, 403), ("exec", 200, 403), ("sales", 404, 404),
])
def test_who_may_see_and_edit_processes(org, persona, read, write):
    definition, _version = repair_process(org.admin)
    user = factories.user("sales3", role="sales", department=org.sales_east) if persona == "sales" \
        else getattr(org, persona)
    client = signed_in(user)
    assert client.get(reverse("web:process_list")).status_code == read
    assert client.get(reverse("web:process_version", args=[definition.pk, 1])).status_code == read
    assert client.get(reverse("web:process_edit", args=[definition.pk])).status_code == write
    assert client.get(reverse("web:process_create")).status_code == write
    if write != 200:
        assert client.post(reverse("web:process_edit", args=[definition.pk]),
                           editor_data([DIAGNOSE])).status_code == write
        assert ProcessVersion.objects.filter(definition=definition).count() == 1


def test_the_version_page_reads_in_few_queries(org, django_assert_max_num_queries):
    definition, _version = repair_process(org.admin)
    admin = signed_in(org.admin)
    with django_assert_max_num_queries(12):
        assert admin.get(reverse("web:process_version", args=[definition.pk, 1])).status_code == 200
