"""The directory over the API: everyone finds colleagues; only administrators shape departments."""

from __future__ import annotations

import pytest

from loopcrm.accounts import services
from loopcrm.accounts.models import Department, Role
from loopcrm.core.models import AuditEntry
from tests import factories
from tests.commerce.util import count_queries, ok, problem

pytestmark = pytest.mark.django_db

PERSONAS = ["admin", "lead", "agent", "other_agent", "exec"]


def departments() -> list[tuple]:
    return sorted(Department.objects.values_list("id", "name", "code", "parent_id", "path"))


def state() -> tuple:
    return departments(), AuditEntry.objects.count()


# --- users ----------------------------------------------------------------------------------

def test_an_agent_finds_colleagues_by_role_department_and_name(api_as, org):
    agent = api_as("agent")
    everyone = [item["username"] for item in ok(agent.get("users"))["items"]]
    assert everyone == sorted(everyone) and {"admin", "lead", "agent", "other_agent", "exec"} <= set(everyone)
    assert [u["username"] for u in ok(agent.get("users", role="team_lead"))["items"]] == ["lead"]
    assert {u["username"] for u in ok(agent.get("users", department_id=org.service.pk))["items"]} == {"lead", "agent"}
    found = ok(agent.get("users", q="王芳"))["items"]
    assert [u["username"] for u in found] == ["agent"]
    assert found[0]["teams"] == [{"id": org.hotline.pk, "name": "Hotline 热线组"}]
    assert found[0]["department"] == {"id": org.service.pk, "name": "服务部 Service"}
    problem(agent.get("users", role="wizard"), 422, "role")
    problem(agent.get("users", sort="password"), 400, "sort")
    problem(agent.get("users", department_id=10**20), 422, "department_id")
    problem(agent.get("users", q="王\x00"), 422, "q")


def test_users_page_with_a_cursor_and_cost_the_same_queries_for_few_or_many(api_as, org):
    agent = api_as("agent")
    ok(agent.get("users"))
    with count_queries() as few:
        ok(agent.get("users", limit=200))
    for n in range(30):
        factories.user(f"extra{n:02d}", department=org.service, teams=[org.hotline])
    with count_queries() as many:
        ok(agent.get("users", limit=200))
    assert len(few) == len(many) <= 3
    names, cursor = [], None
    while True:
        page = ok(agent.get("users", limit=7, **({"cursor": cursor} if cursor else {})))
        names += [item["username"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(names) == len(set(names)) == 35


def test_a_user_reads_themselves_and_a_colleague(api_as, org):
    me = ok(api_as("agent").get("users/me"))
    assert me["username"] == "agent" and me["name"] == "王芳" and me["role"] == "agent"
    # Decision 0008: an agent views every customer, changes only their own.
    assert me["scopes"]["customer"] == {"change": "own", "delete": "none", "merge": "none", "privacy": "none",
                                            "view": "all"}
    assert ok(api_as("exec").get("users/me"))["scopes"]["customer"]["change"] == "none"
    assert ok(api_as("agent").get(f"users/{org.other_agent.pk}"))["name"] == "Tom Baker"
    problem(api_as("agent").get("users/987654"), 404)
    problem(api_as("agent").get("users/99999999999999999999999"), 404)


# --- departments ----------------------------------------------------------------------------

def test_departments_are_listed_in_tree_order(api_as, org):
    services.create_department(name="华东销售一组", code="east-1", parent=org.sales_east)
    listed = ok(api_as("agent").get("departments"))["items"]
    assert [(d["code"], d["depth"]) for d in listed] == [
        ("head", 0), ("service", 1), ("sales-east", 1), ("east-1", 2),
    ]
    assert {d["code"]: d["member_count"] for d in listed}["service"] == 2
    assert ok(api_as("agent").get(f"departments/{org.service.pk}"))["parent_id"] == org.head.pk


def test_an_administrator_creates_renames_moves_and_deletes_a_department(api_as, org):
    admin = api_as("admin")
    created = ok(admin.post("departments", {"name": " 质量部  Quality ", "code": "quality",
                                            "parent_id": org.head.pk}), 201)
    assert created["name"] == "质量部 Quality" and created["depth"] == 1
    sub = ok(admin.post("departments", {"name": "质检组", "code": "qc", "parent_id": created["id"]}), 201)
    renamed = ok(admin.patch(f"departments/{created['id']}", {"name": "质量管理部"}))
    assert renamed["name"] == "质量管理部"
    moved = ok(admin.patch(f"departments/{created['id']}", {"parent_id": org.service.pk}))
    assert moved["depth"] == 2
    assert Department.objects.get(pk=sub["id"]).path == f"{org.head.path}{org.service.pk}/{created['id']}/{sub['id']}/"
    top = ok(admin.patch(f"departments/{created['id']}", {"parent_id": None}))
    assert top["depth"] == 0 and top["parent_id"] is None
    problem(admin.delete(f"departments/{created['id']}"), 409)  # it still has the QC group
    assert admin.delete(f"departments/{sub['id']}").status_code == 204
    assert admin.delete(f"departments/{created['id']}").status_code == 204
    assert not Department.objects.filter(code__in=["quality", "qc"]).exists()
    assert AuditEntry.objects.filter(object_type="accounts.department", action="delete").count() == 2


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": "X", "code": "service"}, 409, "code"),
        ({"name": "X", "code": "SERVICE"}, 409, "code"),
        ({"name": "X", "code": "has space"}, 422, "code"),
        ({"name": "X\x00", "code": "nul"}, 422, "name"),
        ({"name": "", "code": "empty"}, 422, "name"),
        ({"name": "X", "code": "x", "parent_id": 987654}, 404, "department_id"),
        ({"name": "X", "code": "x", "parent_id": "1"}, 422, "parent_id"),
        ({"name": "X", "code": "x", "manager": 1}, 422, "manager"),
    ],
)
def test_bad_department_input_is_a_clear_problem(api_as, org, payload, status, field):
    admin = api_as("admin")
    before = state()
    problem(admin.post("departments", payload), status, field)
    assert state() == before


def test_a_department_cannot_move_below_itself_or_be_deleted_while_in_use(api_as, org):
    admin = api_as("admin")
    before = state()
    problem(admin.patch(f"departments/{org.head.pk}", {"parent_id": org.service.pk}), 422)
    body = problem(admin.delete(f"departments/{org.service.pk}"), 409, "department_id")
    assert body["errors"][0]["remaining"] == {"users": 2, "teams": 1}
    empty = services.create_department(name="空部门", code="empty")
    factories.customer("有客户", department=empty)
    before = state()
    problem(admin.delete(f"departments/{empty.pk}"), 409)
    assert state() == before


# A department write by each persona: only the administrator may.
WRITE = {"admin": True, "lead": False, "agent": False, "other_agent": False, "exec": False}


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_administrators_change_departments(api_as, org, persona):
    client = api_as(persona)
    spare = services.create_department(name="备用 Spare", code="spare", parent=org.head)
    before = state()
    created = client.post("departments", {"name": "新部门", "code": "new-dept"})
    renamed = client.patch(f"departments/{spare.pk}", {"name": "改名"})
    deleted = client.delete(f"departments/{spare.pk}")
    if WRITE[persona]:
        ok(created, 201)
        ok(renamed)
        assert deleted.status_code == 204
    else:
        for response in (created, renamed, deleted):
            problem(response, 403)
        assert state() == before
    ok(client.get(f"departments/{org.service.pk}"))  # everyone reads the directory


def test_a_manager_may_not_shape_departments_either(org):
    from tests.conftest import ApiClient

    manager = ApiClient(factories.user("manager", role=Role.MANAGER, department=org.service))
    before = state()
    problem(manager.post("departments", {"name": "X", "code": "x"}), 403)
    assert state() == before


def test_a_deactivated_administrators_token_is_refused(org):
    from tests.conftest import ApiClient

    client = ApiClient(org.admin)
    ok(client.get("departments"))
    services.deactivate_user(org.admin, by=org.admin)
    before = state()
    problem(client.get("departments"), 401)
    problem(client.post("departments", {"name": "X", "code": "x"}), 401)
    problem(client.delete(f"departments/{org.sales_east.pk}"), 401)
    assert state() == before
