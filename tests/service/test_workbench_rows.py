"""The inbox rows built in Python (`inbox_rows`) are the markup the row template gave, value for value; so are
the ticket page's history (`ticket_events`) and conversation (`ticket_messages`).

REFERENCE is the per-row template the tag replaced (kept beside this test, not in the app): the same tickets are
rendered through both, in English and in Chinese, with a VIP, a category, a queue, an unassigned
ticket, SLA clocks and a subject full of markup characters, and compared after folding whitespace.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from loopcrm.service.services import sla_config
from loopcrm.service.services import tickets as ticket_services
from loopcrm.service.services.attachments import Upload
from tests import factories
from tests.service.test_processes_helpers import category

pytestmark = pytest.mark.django_db

REFERENCE = (Path(__file__).parent / "inbox_row_reference.html").read_text(encoding="utf-8")


def folded(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))).strip()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_rows_tag_gives_the_markup_of_the_row_template(org, hotline_queue, open_ticket, language):
    calendar = sla_config.create_calendar(
        by=None, name="24x7", time_zone="Asia/Shanghai",
        weekly_hours={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    sla_config.create_policy(by=None, name="Standard <标准> & co", calendar=calendar, first_response_minutes=60,
                             resolution_minutes=480)
    vip = factories.customer("王总 <VIP> & \"Co\"", is_vip=True, owner=org.agent)
    plain = factories.customer("张伟", owner=org.agent)
    late = category("延迟 <送达>")
    open_ticket(vip, subject="<b>冰箱</b> & \"不制冷\"", assignee=org.agent, category=late, kind="complaint")
    open_ticket(plain, subject="Invoice copy", queue=None, by=org.agent)
    open_ticket(plain, subject="退货", priority=4)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(org.lead)

    response = client.get(reverse("web:ticket_inbox") + "?view=all")

    items = response.context["page"].items
    assert len(items) == 3 and any(getattr(ticket, "sla_clock", None) for ticket in items)
    with translation.override(language):
        expected = Template(REFERENCE).render(Context({"page": response.context["page"]}))
        built = Template("{% load workbench %}{% inbox_rows page.items %}").render(
            Context({"page": response.context["page"]}))
    assert folded(built) == folded(expected)
    assert "&lt;b&gt;冰箱&lt;/b&gt;" in built and "<b>" not in built


EVENTS_REFERENCE = (Path(__file__).parent / "ticket_events_reference.html").read_text(encoding="utf-8")
SLA_REFERENCE = (Path(__file__).parent / "ticket_sla_reference.html").read_text(encoding="utf-8")
MESSAGES_REFERENCE = (Path(__file__).parent / "ticket_messages_reference.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_ticket_page_draws_its_history_and_conversation_as_the_loops_it_replaces(org, open_ticket, language):
    # given a ticket with a customer message, a reply with attachments, a note, a system note, a reassignment
    # and status changes whose reasons and bodies are full of markup, under an SLA (first response met by the reply)
    calendar = sla_config.create_calendar(
        by=None, name="24x7", time_zone="Asia/Shanghai",
        weekly_hours={day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    sla_config.create_policy(by=None, name="Standard <标准> & co", calendar=calendar, first_response_minutes=60,
                             resolution_minutes=480)
    customer = factories.customer("王总 <VIP> & \"Co\"", owner=org.agent)
    ticket = open_ticket(customer, subject="<b>冰箱</b>", assignee=org.agent)
    ticket_services.record_customer_message(ticket, body="<script>alert('客户')</script>", channel="email")
    ticket_services.add_reply(ticket, body="已收到 <i>&</i>", by=org.agent, attachments=[
        Upload("<发票>.txt", "text/plain", b"a" * 2048), ("a&b.txt", "text/plain", b"x")])
    ticket_services.add_note(ticket, body="内部 \"note\"", by=org.agent)
    ticket_services.add_note(ticket, body="by the system", by=None)
    ticket_services.assign(ticket, to=org.lead, by=org.lead, reason="<script>交接</script>")
    ticket.refresh_from_db()
    ticket_services.change_status(ticket, "pending", by=org.lead, reason="waiting <for> parts & \"cable\"")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(org.lead)

    # when the page is drawn
    response = client.get(reverse("web:ticket_detail", args=[ticket.pk]))

    # then history, conversation and SLA clocks are the markup the template loops gave, and user text stays text
    assert response.status_code == 200
    context = {"detail": response.context["detail"], "ticket": response.context["ticket"]}
    detail = context["detail"]
    assert len(detail.messages) == 5 and len(detail.events) >= 4
    with translation.override(language):
        # (as the page draws them: the people's names from detail.names, not from each row's joined user)
        events = Template("{% load workbench %}{% ticket_events detail.events detail.names %}").render(
            Context(context))
        messages = Template("{% load workbench %}{% ticket_messages detail.messages ticket detail.names %}").render(
            Context(context))
        assert events == Template("{% load workbench %}{% ticket_events detail.events %}").render(Context(context))
        assert messages == Template("{% load workbench %}{% ticket_messages detail.messages ticket %}").render(
            Context(context))
        assert folded(events) == folded(Template(EVENTS_REFERENCE).render(Context(context)))
        assert folded(messages) == folded(Template(MESSAGES_REFERENCE).render(Context(context)))
        clocks = response.context["clocks"]
        assert len(clocks) == 2 and any(clock.met_at for clock in clocks)
        sla = Template("{% load workbench %}{% sla_rows clocks %}").render(Context({"clocks": clocks}))
        assert folded(sla) == folded(Template(SLA_REFERENCE).render(Context({"clocks": clocks})))
        assert folded(sla) in folded(response.content.decode())
    page = response.content.decode()
    assert folded(events) in folded(page) and folded(messages) in folded(page)
    for raw in ("<script>", "<for>", "<i>&</i>", "<发票>"):
        assert raw not in events + messages
    assert "&lt;script&gt;交接&lt;/script&gt;" in events and "waiting &lt;for&gt; parts &amp;" in events
    assert "&lt;script&gt;alert(&#x27;客户&#x27;)&lt;/script&gt;" in messages and "&lt;发票&gt;.txt" in messages
    assert "download" in messages and "a&amp;b.txt" in messages


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_field_tags_give_the_markup_of_the_field_and_error_includes(org, open_ticket, language):
    # given the ticket page's forms as the lead sees them, fresh and with errors (one with a markup-laden error)
    ticket = open_ticket(factories.customer("张伟", owner=org.agent), assignee=org.agent)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(org.lead)
    context = client.get(reverse("web:ticket_detail", args=[ticket.pk])).context
    fresh = [context[name] for name in ("reply_form", "note_form", "status_form", "assign_form", "priority_form")]
    with translation.override(language):
        failed = [type(form)(data={}, prefix=form.prefix, **extra) for form, extra in (
            (context["status_form"], {"allowed": ["pending", "resolved"]}), (context["reply_form"], {}),
            (context["priority_form"], {}))]
        for form in failed:
            assert not form.is_valid()
        failed[1].add_error(None, "<b>Too late</b> & gone")
        for form in fresh + failed:
            # when each field and the error banner are drawn by the tags and by the includes
            for field in form:
                built = Template("{% load workbench %}{% form_field f %}").render(Context({"f": field}))
                expected = Template('{% include "web/_field.html" with field=f %}').render(Context({"f": field}))
                # then they are the same markup
                assert folded(built) == folded(expected), field.name
            built = Template("{% load workbench %}{% form_errors f %}").render(Context({"f": form}))
            expected = Template('{% include "web/_form_errors.html" with form=f %}').render(Context({"f": form}))
            assert folded(built) == folded(expected)
    assert "&lt;b&gt;Too late&lt;/b&gt; &amp; gone" in Template("{% load workbench %}{% form_errors f %}").render(
        Context({"f": failed[1]}))
    assert 'class="field has-error"' in Template("{% load workbench %}{% form_field f %}").render(
        Context({"f": failed[0]["status"]}))


STEPS_REFERENCE = (Path(__file__).parent / "ticket_steps_reference.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_process_steps_tag_gives_the_markup_of_the_steps_loop(org, open_ticket, language):
    # given a complaint process whose steps are done, under way late, waiting and left out, with checklists ticked
    # and not, a responsible department and role, a field still to fill in and names full of markup
    from loopcrm.service.models import TicketStep
    from loopcrm.service.services import processes as process_services
    from loopcrm.service.services.processes import StepSpec

    definition = process_services.create_definition(key="complaint", name="Complaint <投诉>",
                                                    ticket_kind="complaint", by=org.admin)
    process_services.publish_version(definition, by=org.admin, steps=[
        StepSpec(key="ack", name="Acknowledge <受理>", target_minutes=30, responsible_department=org.service,
                 checklist=["Apologised & \"sorry\"", "<b>Order</b> checked"]),
        StepSpec(key="investigate", name="Investigate 调查", target_minutes=1, responsible_role="team_lead",
                 checklist=["Photos 照片"], required_fields=["root_cause", "corrective_action"]),
        StepSpec(key="visit", name="Visit <上门>", target_minutes=120, is_mandatory=False),
        StepSpec(key="follow-up", name="Follow up 回访", target_minutes=60, is_mandatory=False),
        StepSpec(key="close", name="Close 结案", target_minutes=15),
    ])
    ticket = open_ticket(factories.customer("张伟", owner=org.agent), kind="complaint", assignee=org.agent)
    steps = {row.step.key: row for row in TicketStep.objects.filter(ticket_process__ticket=ticket)}
    process_services.tick_checklist(steps["ack"], index=0, by=org.agent)
    process_services.tick_checklist(steps["ack"], index=1, by=org.agent)
    process_services.complete_step(steps["ack"], by=org.agent)
    steps["investigate"].refresh_from_db()
    if steps["investigate"].status == TicketStep.Status.PENDING:
        process_services.start_step(steps["investigate"], by=org.agent)
    # three hours under way on a one-minute target
    TicketStep.objects.filter(pk=steps["investigate"].pk).update(started_at=timezone.now() - dt.timedelta(hours=3))
    process_services.tick_checklist(steps["investigate"], index=0, by=org.agent)
    process_services.skip_step(steps["follow-up"], by=org.agent)
    for who in (org.agent, org.exec):  # the agent works it; exec reads it
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(who)

        # when the page is drawn
        response = client.get(reverse("web:ticket_detail", args=[ticket.pk]))

        # then the steps are the markup the template loop gave, with user text as text
        assert response.status_code == 200
        context = {name: response.context[name] for name in ("progress", "ticket", "may_change", "csrf_token")}
        assert context["may_change"] is (who == org.agent)
        assert {step.status for step in context["progress"].steps} == {"done", "active", "pending", "skipped"}
        with translation.override(language):
            built = Template("{% load workbench %}{% process_steps progress ticket may_change %}").render(
                Context(context))
            expected = Template(STEPS_REFERENCE).render(Context(context))
        assert folded(built) == folded(expected)
        assert folded(built) in folded(response.content.decode())
        assert "<b>" not in built and "&lt;受理&gt;" in built
        assert "is-late" in built and 'class="help warn"' in built and "step-skipped" in built
        assert ('name="csrfmiddlewaretoken"' in built) is ('role="checkbox"' in built) is (who == org.agent)
        if who == org.exec:  # a ticked item is read out as done, not as a completion date (完成时间)
            done = {"en": "(done)", "zh-hans": "(已完成)"}[language]
            assert built.count(f'<span class="sr-only"> {done}</span>') == 3 and "完成时间" not in built


@pytest.mark.parametrize("value", [None, "", "3", 7, "<b>Tom</b> & \"Jerry\"", "多行\n文本"])
def test_the_widgets_drawn_in_python_give_djangos_markup(value):
    from django import forms
    from django.utils.safestring import mark_safe

    from loopcrm.service.forms import FastHiddenInput, FastTextarea, FastTextInput, MultipleFileInput

    attrs = {"id": "id_x", "required": True, "disabled": False, "maxlength": 20, "aria-describedby": "id_x_helptext",
             "placeholder": "Reason <when> & \"why\""}
    for fast, django_widget in ((FastTextInput(), forms.TextInput()), (FastHiddenInput(), forms.HiddenInput()),
                                (FastTextarea(attrs={"rows": 5, "data-composer": ""}),
                                 forms.Textarea(attrs={"rows": 5, "data-composer": ""}))):
        for shown in (value, mark_safe(value) if isinstance(value, str) else value):  # noqa: S308 - as a form may
            assert fast.render("x", shown, attrs) == django_widget.render("x", shown, attrs), type(fast)
            assert fast.render("x", shown) == django_widget.render("x", shown), type(fast)
    files = MultipleFileInput()
    assert files.render("f", None, attrs) == forms.ClearableFileInput.render(files, "f", None, attrs)
