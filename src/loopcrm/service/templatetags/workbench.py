"""Template filters and tags of the agent workbench: business durations as people read them, and the parts of
the inbox and ticket page drawn in Python (rows, history, conversation, form fields) because the template
engine cost more than the page's queries there."""

from __future__ import annotations

import datetime as dt

from django import template
from django.template.defaultfilters import capfirst, filesizeformat
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format, localize
from django.utils.html import conditional_escape, escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from loopcrm.service.models import Ticket, TicketEvent, TicketMessage

register = template.Library()


def _short(minutes: int) -> str:
    """A span of business minutes, short: "45 min", "2 h 05 min", "3 d 4 h" (a day is 24 hours)."""
    minutes = abs(int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": mins}
    return _("%(minutes)d min") % {"minutes": mins}


def _dates(*names: str):
    """`date_filter(value, name)` for datetimes already in local time, with each named format looked up once per
    call of a tag instead of once per value ("c" is the ISO 8601 the filter gives)."""
    formats = {name: get_format(name) for name in names}

    def draw(value: dt.datetime, name: str) -> str:
        return value.isoformat() if name == "c" else dateformat.format(value, formats[name])
    return draw


@register.filter
def span(value) -> str:
    """A timedelta or a number of minutes as a short span ("" for None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.timedelta):
        return _short(int(value.total_seconds() // 60))
    return _short(int(value))


@register.filter
def overdue(value) -> bool:
    """Whether a remaining timedelta has run out."""
    return isinstance(value, dt.timedelta) and value.total_seconds() < 0


@register.filter
def clock_tone(clock) -> str:
    """The badge colour of an SLA clock: breached/overdue red, warning amber, met green, paused grey."""
    if clock is None:
        return ""
    if clock.breached or clock.state == "breached" or overdue(clock.remaining):
        return "badge-danger"
    if clock.state == "warning":
        return "badge-warning"
    if clock.state == "met":
        return "badge-success"
    if clock.state == "paused":
        return ""
    return "badge-info"


@register.simple_tag
def sla_timer(clock, compact: bool = False) -> SafeString:
    """One SLA clock as a badge: remaining business time, or its state ("—" without a clock).

    A tag rather than an included template: the inbox draws one per row, and an include per row cost
    more than the row's query.
    """
    if clock is None:
        return mark_safe('<span class="muted">—</span>')
    if clock.state == "paused":
        text = _("paused, %(left)s left") % {"left": span(clock.remaining)}
    elif clock.remaining is None:
        text = _("missed") if clock.breached else str(clock.state_label).lower()
    elif overdue(clock.remaining):
        text = _("%(late)s overdue") % {"late": span(clock.remaining)}
    else:
        text = _("%(left)s left") % {"left": span(clock.remaining)}
    due = dateformat.format(timezone.localtime(clock.due_at), get_format("SHORT_DATETIME_FORMAT"))
    metric = format_html('<span class="sla-metric">{}:</span> ', clock.metric_label) if not compact else ""
    return format_html(
        '<span class="sla-timer badge {}" data-sla-state="{}" title="{} · {} · {} {}">'
        '<svg class="icon" aria-hidden="true"><use href="#i-clock"></use></svg> {}{}</span>',
        clock_tone(clock), clock.state, clock.policy_name, clock.metric_label, _("due"), due, metric, text,
    )


_LABELS = {"status": "Status", "priority": "Priority"}


@register.simple_tag
def event_change(event) -> str:
    """An event's old → new as people read it: status and priority by their labels, people by name."""
    data = event.data or {}
    if event.field == "assignee" or event.kind == "assigned":
        old, new = data.get("old_name", ""), data.get("new_name", "")
    elif event.field in _LABELS:
        choices = dict(getattr(Ticket, _LABELS[event.field]).choices)
        old = choices.get(_as_key(event.old), event.old)
        new = choices.get(_as_key(event.new), event.new)
    else:
        old, new = event.old, event.new
    if not old and not new:
        return ""
    return f"{old or '—'} → {new or '—'}"


def _as_key(value: str):
    return int(value) if isinstance(value, str) and value.isdigit() else value


_MARK = 987654321987


@register.simple_tag
def inbox_rows(tickets) -> SafeString:
    """The inbox's table rows, built in Python: the markup of one row per ticket, with every label translated
    once per page instead of once per row and the row URLs reversed once.

    A page of 25 rows through the template engine was about a thousand node renders and a thousand
    gettext calls — most of the inbox's CPU. Every value is escaped here. The template this replaces is kept
    as tests/service/inbox_row_reference.html; test_workbench_rows.py checks both give the same markup.
    """
    take_url = escape(reverse("web:ticket_take", args=[_MARK]))
    detail_url = escape(reverse("web:ticket_detail", args=[_MARK]))
    mark = str(_MARK)
    statuses = {value: escape(str(label)) for value, label in Ticket.Status.choices}
    priorities = {value: escape(str(label)) for value, label in Ticket.Priority.choices}
    kinds = {value: escape(str(label)) for value, label in Ticket.Kind.choices}
    heads = {key: escape(_(label)) for key, label in (("ticket", "Ticket"), ("status", "Status"),
                                                      ("priority", "Priority"), ("assignee", "Assignee"),
                                                      ("sla", "SLA"), ("updated", "Updated"))}
    vip = ('<span class="badge badge-vip"><svg class="icon" aria-hidden="true"><use href="#i-star"></use></svg>'
           f'{escape(_("VIP"))}</span>')
    unassigned = escape(_("Unassigned"))
    date = _dates("c", "DATETIME_FORMAT")
    parts = []
    for ticket in tickets:
        pk = str(ticket.pk)
        customer = ticket.customer
        updated = timezone.localtime(ticket.updated_at)
        category = f" · {escape(ticket.category.name)}" if ticket.category_id else ""
        queue = f'<span class="sub">{escape(ticket.queue.name)}</span>' if ticket.queue_id else ""
        assignee = escape(str(ticket.assignee)) if ticket.assignee_id else unassigned
        select = escape(_("Select ticket #%(number)s") % {"number": ticket.pk})
        parts.append(
            f'<tr data-ticket-row data-assign-url="{take_url.replace(mark, pk)}" class="ticket-row'
            f'{" is-vip" if customer.is_vip else ""}">'
            f'<td class="check-cell"><input type="checkbox" name="bulk-ticket" value="{pk}" form="bulk-form" '
            f'id="pick-{pk}" aria-label="{select}"></td>'
            f'<td class="card-title" data-label="{heads["ticket"]}">'
            f'<a class="row-link" href="{detail_url.replace(mark, pk)}" data-open>'
            f'<span class="ticket-number">#{pk}</span> {escape(ticket.subject)}</a>'
            f'<span class="sub">{escape(customer.name)}{" " + vip if customer.is_vip else ""}'
            f' · {kinds.get(ticket.kind, escape(ticket.kind))}{category}</span></td>'
            f'<td data-label="{heads["status"]}"><span class="badge status-{escape(ticket.status)}">'
            f'{statuses.get(ticket.status, escape(ticket.status))}</span></td>'
            f'<td data-label="{heads["priority"]}"><span class="priority priority-{escape(ticket.priority)}">'
            f'{priorities.get(ticket.priority, escape(ticket.priority))}</span></td>'
            f'<td data-label="{heads["assignee"]}"><span>{assignee}{queue}</span></td>'
            f'<td data-label="{heads["sla"]}">{sla_timer(getattr(ticket, "sla_clock", None), compact=True)}</td>'
            f'<td data-label="{heads["updated"]}" class="nowrap muted"><time datetime="{date(updated, "c")}" '
            f'title="{escape(date(updated, "DATETIME_FORMAT"))}">{dateformat.format(updated, "m-d H:i")}</time></td>'
            '</tr>\n'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _labels(choices) -> dict[str, str]:
    return {value: escape(str(label)) for value, label in choices}


@register.simple_tag
def ticket_events(events, names=None) -> SafeString:
    """The ticket page's history, one `<li>` per event, built in Python like `inbox_rows`: the kind labels and
    "System" are translated once per page, not once per event.

    Every value is escaped here. tests/service/ticket_events_reference.html is the template loop this replaces;
    test_workbench_rows.py checks both give the same markup.
    """
    kinds = _labels(TicketEvent.Kind.choices)
    system = escape(_("System"))
    date = _dates("c", "SHORT_DATETIME_FORMAT")
    parts = []
    for event in events:
        at = timezone.localtime(event.at)
        step = f" · {escape(event.step)}" if event.step else ""
        change = event_change(event)
        change = f' <span class="muted">{escape(change)}</span>' if change else ""
        # `names`: str(user) by id, so that the events need not join their actors
        actor = (names.get(event.actor_id) if names is not None else event.actor) if event.actor_id else None
        data = event.data if isinstance(event.data, dict) else {}
        reasons = "".join(f" · {escape(data[key])}" for key in ("reason", "override_reason") if data.get(key))
        parts.append(
            f'<li data-event="{escape(event.kind)}"><div class="row-title"><span>'
            f'{kinds.get(event.kind, escape(event.kind))}{step}{change}</span>\n'
            f'<time class="muted nowrap" datetime="{date(at, "c")}">'
            f'{escape(date(at, "SHORT_DATETIME_FORMAT"))}</time></div>\n'
            f'<div class="row-sub">{escape(str(actor)) if actor else system}{reasons}</div></li>\n'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


_MESSAGE_LOOK = {  # kind -> (icon class, icon, badge class)
    "reply": (" is-outbound", "arrow-out", " badge-info"),
    "note": (" is-internal", "note", " badge-warning"),
}


@register.simple_tag
def ticket_messages(messages, ticket, names=None) -> SafeString:
    """The ticket page's conversation, one `<li>` per message with its attachments, built in Python like
    `inbox_rows` (labels translated and the attachment URL reversed once per page).

    Every value is escaped here. tests/service/ticket_messages_reference.html is the template loop this
    replaces; test_workbench_rows.py checks both give the same markup.
    """
    kinds = _labels(TicketMessage.Kind.choices)
    channels = _labels(TicketMessage._meta.get_field("channel").choices or ())
    system = escape(_("System"))
    files_label = escape(_("Attachments"))
    file_url = escape(reverse("web:ticket_attachment", args=[ticket.pk, _MARK]))
    mark = str(_MARK)
    date = _dates("c", "SHORT_DATETIME_FORMAT")
    parts = []
    for message in messages:
        kind = message.kind
        icon_class, icon, badge = _MESSAGE_LOOK.get(kind, ("", "arrow-in", ""))
        if kind == "customer":
            who = escape(ticket.customer.name)
        else:
            # `names`: str(user) by id, so that the messages need not join their authors
            author = (names.get(message.author_id) if names is not None else message.author) \
                if message.author_id else None
            who = escape(str(author)) if author else system
        at = timezone.localtime(message.created_at)
        files = "".join(
            f'<li><a href="{file_url.replace(mark, str(file.pk))}" download>{escape(file.filename)}</a> '
            f'<span class="muted">{escape(filesizeformat(file.size))}</span></li>'
            for file in _files_of(message))
        if files:
            files = f'\n<ul class="attachments" aria-label="{files_label}">\n{files}\n</ul>'
        parts.append(
            f'<li class="timeline-item message-{escape(kind)}" id="message-{message.pk}" '
            f'data-message-kind="{escape(kind)}">\n'
            f'<span class="timeline-icon{icon_class}" aria-hidden="true">\n'
            f'<svg class="icon"><use href="#i-{icon}"></use></svg>\n</span>\n<div>\n'
            f'<div class="timeline-head">\n<strong>{who}</strong>\n'
            f'<span class="badge{badge}">{kinds.get(kind, escape(kind))}</span>\n</div>\n'
            f'<div class="timeline-meta"><time datetime="{date(at, "c")}">'
            f'{escape(date(at, "SHORT_DATETIME_FORMAT"))}</time> · '
            f'{channels.get(message.channel, escape(message.channel))}</div>\n'
            f'<div class="timeline-body">{escape(message.body)}</div>{files}\n</div>\n</li>\n'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


@register.simple_tag
def form_field(field) -> SafeString:
    """One form field as web/_field.html draws it (label, widget, help, errors), without an include: the ticket
    page has nine, and the include's nodes cost more than the widget. Every value is escaped here;
    test_workbench_rows.py checks the markup against the include, bound with errors and unbound."""
    if field.is_hidden:
        return conditional_escape(field)
    widget_type = field.widget_type
    check = widget_type == "checkbox"
    errors = field.errors
    label = conditional_escape(capfirst(field.label))
    for_id = conditional_escape(field.id_for_label)
    if check:
        body = f'{field}<label for="{for_id}">{label}</label>'
    else:
        required = ' class="required"' if field.field.required else ""
        body = f'<label for="{for_id}"{required}>{label}</label>\n{field}'
    help_text = ""
    if field.help_text and not check:
        help_text = (f'<span class="help" id="{conditional_escape(field.auto_id)}_helptext">'
                     f'{conditional_escape(field.help_text)}</span>')
    error_list = ""
    if errors:
        items = "".join(f"<li>{conditional_escape(error)}</li>" for error in errors)
        error_list = f'<ul class="field-error" id="{conditional_escape(field.auto_id)}_error">{items}</ul>'
    return mark_safe(  # noqa: S308 - every value above is escaped (the widget renders itself safely)
        f'<div class="field{" field-check" if check else ""}{" has-error" if errors else ""}">\n'
        f'{body}\n{help_text}\n{error_list}\n</div>\n')


@register.simple_tag
def form_errors(form) -> SafeString:
    """A form's error banner as web/_form_errors.html draws it, without an include."""
    non_field = form.non_field_errors()
    if non_field:
        text = "".join(f"<p>{conditional_escape(error)}</p>" for error in non_field)
    elif form.errors:
        text = f'<p>{escape(_("Please correct the fields marked below. Nothing has been saved."))}</p>'
    else:
        return mark_safe("")
    return mark_safe(  # noqa: S308 - every value above is escaped
        '\n<div class="alert alert-error" role="alert">\n'
        '<svg class="icon" aria-hidden="true"><use href="#i-alert"></use></svg>\n'
        f'<div>{text}</div>\n</div>\n')


def _short_datetime(value) -> str:
    return escape(dateformat.format(timezone.localtime(value), get_format("SHORT_DATETIME_FORMAT")))


@register.simple_tag
def sla_rows(clocks) -> SafeString:
    """The ticket page's SLA clocks, one `<li>` each, built in Python like `inbox_rows` (same messages as the
    template's blocktranslate tags). tests/service/ticket_sla_reference.html is the loop this replaces."""
    parts = []
    for clock in clocks:
        # As blocktranslate does: the values are escaped, the translated sentence is not.
        target = _("target %(target)s, due %(due)s") % {
            "target": escape(span(clock.target_minutes)), "due": _short_datetime(clock.due_at)}
        met = (" · " + _("met %(met)s") % {"met": _short_datetime(clock.met_at)}) if clock.met_at else ""
        percent = clock.percent_used
        used = _("%(percent)s%% of the target used") % {"percent": escape(localize(percent))}
        parts.append(
            f'<li class="sla-row" data-sla-metric="{escape(clock.metric)}">\n'
            f'<div class="row-title"><strong>{escape(clock.metric_label)}</strong>{sla_timer(clock, compact=True)}'
            f'</div>\n<div class="row-sub">{escape(clock.state_label)} · {target}{met}</div>\n'
            f'<div class="meter" role="img" aria-label="{used}"><span style="width: '
            f'{100 if percent > 100 else escape(localize(percent))}%" class="{clock_tone(clock)}"></span></div>\n'
            '</li>\n'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def csrf_input(context) -> str:
    """What {% csrf_token %} draws, for markup built in Python."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":  # noqa: S105 - the marker Django uses for "no token here"
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


_URLS: dict[tuple, str] = {}


def url_of(name: str, *ids: int) -> str:
    """reverse(name, args=ids) for a URL that takes only integers, its pattern reversed once per process (and script
    prefix): the ticket page links and posts to the same dozen URLs, and a reverse costs more than the markup."""
    key = (name, get_script_prefix(), get_urlconf(), len(ids))
    pattern = _URLS.get(key)
    if pattern is None:
        pattern = _URLS[key] = reverse(name, args=[_MARK + n for n in range(len(ids))])
    for n, value in enumerate(ids):
        pattern = pattern.replace(str(_MARK + n), str(int(value)), 1)
    return pattern


def _step_form(action: str, csrf: str, fields: str, button: str) -> str:
    return (f'<form method="post" action="{action}" hx-post="{action}" hx-target="#ticket" hx-swap="outerHTML" '
            f'class="inline">\n{csrf}{fields}\n{button}\n</form>\n')


def _files_of(message) -> list:
    """A message's attachments: the plain list ticket_detail read for all messages at once, else the manager's."""
    files = getattr(message, "attachment_list", None)
    return files if files is not None else list(message.attachments.all())


@register.simple_tag(takes_context=True)
def process_steps(context, progress, ticket, may_change) -> SafeString:
    """The ticket page's process checklist, one `<li>` per step with its checklist and its start, complete and
    skip buttons, built in Python like `ticket_events` (each a form: an open step of a complaint drew a dozen
    `{% url %}` and `{% csrf_token %}` tags and translated its labels once per item).

    Every value is escaped here. tests/service/ticket_steps_reference.html is the template loop this replaces;
    test_workbench_rows.py checks both give the same markup.
    """
    csrf = csrf_input(context)
    mandatory = escape(_("mandatory"))
    done = escape(pgettext("checklist item", "done"))  # read out after a ticked item: not a date ("finished")
    still = escape(_("Still to fill in:"))
    skip = escape(_("Skip"))
    parts = []
    for step in progress.steps:
        late = " is-late" if step.over_target else ""
        name = escape(step.name)
        star = (f' <span class="sr-only">({mandatory})</span><span aria-hidden="true" title="{mandatory}">*</span>'
                if step.is_mandatory else "")
        badge = {"done": "badge-success", "active": "badge-info"}.get(step.status, "")
        who = step.responsible_department or step.responsible_role
        who = f"{escape(who)} · " if who else ""
        if step.elapsed_minutes is not None:
            took = _("%(took)s of %(target)s") % {"took": escape(span(step.elapsed_minutes)),
                                                  "target": escape(span(step.target_minutes))}
            over = (" — " + _("%(over)s over target") % {"over": escape(span(step.minutes_over))}
                    if step.over_target else "")
            timing = f'<span class="{"late" if step.over_target else ""}">{took}{over}</span>'
        else:
            timing = _("target %(target)s") % {"target": escape(span(step.target_minutes))}
        by = f" · {escape(step.completed_by)}" if step.completed_by else ""
        acting = may_change and step.is_open
        action = url_of("web:ticket_step", ticket.pk, step.id) if acting else ""
        checklist = ""
        if step.checklist:
            items = []
            for index, (item, ticked) in enumerate(step.checklist):
                box = f'<span class="check-box" aria-hidden="true">{"✓" if ticked else ""}</span>{escape(item)}'
                if acting:
                    fields = (f'<input type="hidden" name="index" value="{index}"><input type="hidden" name="op" '
                              f'value="{"untick" if ticked else "tick"}">')
                    button = (f'<button type="submit" class="check-button" role="checkbox" '
                              f'aria-checked="{"true" if ticked else "false"}">\n{box}\n</button>')
                    items.append(f"<li>\n{_step_form(action, csrf, fields, button)}</li>\n")
                else:
                    sr = f'<span class="sr-only"> ({done})</span>' if ticked else ""
                    items.append(f"<li>\n{box}{sr}\n</li>\n")
            checklist = f'<ul class="checklist">\n{"".join(items)}</ul>\n'
        missing = (f'<p class="help warn">{still} {", ".join(escape(missing) for missing in step.missing_fields)}</p>\n'
                   if step.missing_fields else "")
        buttons = ""
        if acting:
            forms = []
            if step.status == "pending":
                label = _("Start %(name)s") % {"name": name}
                forms.append(_step_form(action, csrf, '<input type="hidden" name="op" value="start">',
                                        f'<button type="submit" class="button button-sm">{label}</button>'))
            if step.status == "active":
                label = _("Complete %(name)s") % {"name": name}
                forms.append(_step_form(action, csrf, '<input type="hidden" name="op" value="complete">',
                                        f'<button type="submit" class="button button-sm button-primary">{label}'
                                        '</button>'))
            if not step.is_mandatory:
                forms.append(_step_form(action, csrf, '<input type="hidden" name="op" value="skip">',
                                        f'<button type="submit" class="button button-sm button-ghost">{skip}'
                                        '</button>'))
            buttons = f'<div class="step-actions">\n{"".join(forms)}</div>\n'
        parts.append(
            f'<li class="step step-{escape(step.status)}{late}" data-step="{escape(step.key)}">\n'
            f'<div class="row-title">\n<strong>{step.position}. {name}{star}</strong>\n'
            f'<span class="badge {badge}" data-step-status>{escape(step.status_label)}</span>\n</div>\n'
            f'<div class="row-sub">\n{who}\n{timing}\n{by}\n</div>\n'
            f'{checklist}{missing}{buttons}</li>\n'
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
