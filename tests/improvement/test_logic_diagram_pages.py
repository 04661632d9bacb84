"""The logic diagram page: flowchart and matrix from the live configuration, cells, elements and
relationships edited in place through htmx, exports linked; look-only roles see no forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loopcrm.improvement.models import LogicElement, LogicLink
from tests import factories
from tests.factories import signed_in
from tests.improvement.diagram_support import need, process, survey


@pytest.fixture
def live(db):
    need("delivery", 2)
    return {"process": process("投诉处理流程", [("受理", 30)]), "survey": survey("满意度回访", "csat")}



HX = {"HX-Request": "true", "HX-Target": "logic-workspace"}


def test_the_page_shows_flowchart_matrix_and_exports(qm, live):
    response = signed_in(qm).get(reverse("web:logic_diagram"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="logic-diagram"' in html and "投诉处理流程" in html and "满意度回访" in html
    assert 'id="logic-matrix"' in html and 'data-row="need:delivery"' in html
    assert reverse("api:logic_diagram_svg") in html and reverse("api:logic_diagram_png") in html


def test_a_matrix_cell_is_set_in_place(qm, live):
    process_key = f"process:{live['process'].pk}"
    response = signed_in(qm).post(reverse("web:logic_matrix_cell"),
                                   {"need": "need:delivery", "other": process_key, "strength": "strong"}, headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="logic-workspace">')
    assert f'data-column="{process_key}" data-strength="strong"' in html
    assert LogicLink.objects.get().strength == "strong"
    response = signed_in(qm).post(reverse("web:logic_matrix_cell"),
                                   {"need": "need:delivery", "other": process_key, "strength": ""}, headers=HX)
    assert response.status_code == 200 and not LogicLink.objects.exists()
    response = signed_in(qm).post(reverse("web:logic_matrix_cell"),
                                   {"need": "need:delivery", "other": "metric:nothing", "strength": "weak"}, headers=HX)
    assert response.status_code == 422


def test_elements_and_relationships_are_added_edited_and_removed(qm, live):
    client = signed_in(qm)
    response = client.post(reverse("web:logic_element_add"), {"layer": "need", "label": "安装预约方便", "note": "",
                                                              "link_to": ""}, headers=HX)
    assert response.status_code == 200 and "安装预约方便" in response.content.decode()
    element = LogicElement.objects.get()
    response = client.post(reverse("web:logic_element_add"), {"layer": "need", "label": ""}, headers=HX)
    assert response.status_code == 422 and response.context["element_form"].errors["label"]
    response = client.post(reverse("web:logic_link_add"), {"source": element.key, "target": "metric:csat",
                                                           "strength": "weak"}, headers=HX)
    assert response.status_code == 200, response.context["link_form"].errors
    link = LogicLink.objects.get()
    assert client.post(reverse("web:logic_link_edit", args=[link.pk]), {"strength": "strong"},
                       headers=HX).status_code == 200
    link.refresh_from_db()
    assert link.strength == "strong"
    assert client.post(reverse("web:logic_element_edit", args=[element.pk]),
                       {"label": "上门预约", "note": "门店", "layer": "need"}, headers=HX).status_code == 200
    element.refresh_from_db()
    assert element.label == "上门预约"
    assert client.post(reverse("web:logic_element_edit", args=[element.pk]), {"remove": "1"},
                       headers=HX).status_code == 200
    assert not LogicElement.objects.exists() and not LogicLink.objects.exists()


def test_look_only_roles_see_no_forms_and_cannot_write(org, live):
    client = signed_in(org.exec)
    html = client.get(reverse("web:logic_diagram")).content.decode()
    assert 'class="logic-diagram"' in html and 'id="element-form"' not in html
    assert '<select name="strength"' not in html
    assert client.post(reverse("web:logic_element_add"), {"layer": "need", "label": "x"}).status_code == 403
    assert client.post(reverse("web:logic_matrix_cell"), {"need": "need:delivery", "other": "metric:csat",
                                                          "strength": "strong"}).status_code == 403
    assert not LogicElement.objects.exists() and not LogicLink.objects.exists()


def test_others_are_refused(org, live):
    seller = factories.user("seller", role="sales", department=org.sales_east)
    assert signed_in(seller).get(reverse("web:logic_diagram")).status_code == 403
    assert signed_in(org.admin).post(reverse("web:logic_element_edit", args=[999999]), {"label": "x"}).status_code \
        == 404
