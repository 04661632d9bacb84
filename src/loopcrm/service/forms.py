"""Forms of the agent workbench. They parse what a browser sends into Python values; every rule about
tickets (transitions, who may take what, overrides, attachment limits) lives in service/services and
comes back as a DomainError that `add_domain_error` puts next to the field at fault."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from loopcrm.accounts.models import User
from loopcrm.core.choices import Channel
from loopcrm.core.errors import Conflict, DomainError
from loopcrm.service.models import Queue, Ticket, TicketCategory

ANY = _("Any")

# Service error fields that a form shows under another name.
FIELD_ALIASES = {
    "assignee_id": "agent", "assignee": "agent", "to": "agent", "customer_id": "customer", "order_id": "order",
    "category_id": "category", "override_reason": "reason", "override": "reason",
    "file": "attachments",
    "version": None,  # a stale version is about the whole form: shown above it
}


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's error next to the field it names, or above the form when it names none we show."""
    field = FIELD_ALIASES.get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)
    form.conflict = isinstance(error, Conflict)


class FastSelect(forms.Select):
    """A select drawn in Python. Django draws each option through a template (about 0.1 ms each): an agent
    select of a few hundred people cost the inbox more than its queries. Same markup, no optgroups."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        parts = [f"<select{flatatt(final)}>"]
        for option_value, label in self.choices:
            key = "" if option_value is None else str(option_value)
            selected = " selected" if key in chosen else ""
            if selected and not self.allow_multiple_selected:
                chosen = set()
            parts.append(f'<option value="{conditional_escape(key)}"{selected}>{conditional_escape(label)}</option>')
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value and label is escaped above)


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html in Python."""
    return "".join(f" {conditional_escape(name)}" if value is True else
                   f' {conditional_escape(name)}="{conditional_escape(value)}"'
                   for name, value in attrs.items() if value is not False)


class FastInputMixin:
    """An <input> drawn in Python, as django/forms/widgets/input.html draws it (the ticket page has nine text, hidden
    and file inputs and text areas; through the template engine they cost more than the rest of its forms)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{conditional_escape(widget["value"])}"'
        return mark_safe(  # noqa: S308 (every value above is escaped)
            f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"{shown}'
            f'{_attrs(widget["attrs"])}>')


class FastTextInput(FastInputMixin, forms.TextInput):
    pass


class FastHiddenInput(FastInputMixin, forms.HiddenInput):
    pass


class FastTextarea(forms.Textarea):
    """A text area drawn in Python, as django/forms/widgets/textarea.html draws it."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        text = conditional_escape(widget["value"]) if widget["value"] else ""
        return mark_safe(  # noqa: S308 (every value above is escaped)
            f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{text}</textarea>')


class ChoiceField(forms.ChoiceField):
    widget = FastSelect


class TypedChoiceField(forms.TypedChoiceField):
    widget = FastSelect


def once(read):
    """A callable for lazy choices that reads its rows at most once (a select draws its choices twice)."""
    rows: list = []

    def call():
        if not rows:
            rows.append(list(read()))
        return rows[0]

    return call


def blank_choice(choices, label=ANY):
    return [("", label), *choices]


@dataclass(frozen=True)
class Person:
    """Someone a select offers: the id and the name User.__str__ would show, without building a User."""

    pk: int
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Option:
    """A row a select offers by id and name (a queue), without building its model."""

    pk: int
    name: str


def people(users) -> list[Person]:
    """The users of a queryset as Person rows (a select of hundreds of people: one light query)."""
    rows = users.values_list("pk", "display_name", "first_name", "last_name", "username")
    return [Person(pk, display or f"{first} {last}".strip() or username) for pk, display, first, last, username in rows]


def agent_choices(agents) -> list[tuple[str, str]]:
    return [(str(agent.pk), str(agent)) for agent in agents]


def category_choices() -> list[tuple[str, str]]:
    """The category tree as indented options (one query, ordered by path)."""
    rows = TicketCategory.objects.filter(is_active=True).order_by("path").values_list("pk", "name", "path")
    return [(str(pk), "\u2003" * max(path.count("/") - 2, 0) + name) for pk, name, path in rows]


# --- the inbox ------------------------------------------------------------------------------------

class InboxView:
    """The saved views of the inbox (a tab each)."""

    MINE = "mine"
    TEAM = "team"
    UNASSIGNED = "unassigned"
    BREACHING = "breaching"
    ALL = "all"

    CHOICES = (
        (MINE, _("Mine")),
        (TEAM, _("My team")),
        (UNASSIGNED, _("Unassigned")),
        (BREACHING, _("Breaching soon")),
        (ALL, _("All I may see")),
    )
    VALUES = frozenset(value for value, _label in CHOICES)


SORT_CHOICES = [
    ("-id", _("Newest first")),
    ("id", _("Oldest first")),
    ("-priority", _("Highest priority first")),
    ("-updated_at", _("Recently updated")),
    ("updated_at", _("Least recently updated")),
]


class TicketFilterForm(forms.Form):
    """The filter controls of the inbox. Only for showing them: the request is parsed by the shared
    ticket filter schema (service/filters.py), the one the API list uses."""

    q = forms.CharField(
        label=_("Search"), required=False,
        widget=forms.TextInput(attrs={
            "type": "search", "autocomplete": "off", "spellcheck": "false",
            "placeholder": _("Subject, ticket number or customer"),
        }),
    )
    status = ChoiceField(label=_("status"), required=False, choices=blank_choice(Ticket.Status.choices))
    priority = ChoiceField(label=_("priority"), required=False, choices=blank_choice(Ticket.Priority.choices))
    kind = ChoiceField(label=_("kind"), required=False, choices=blank_choice(Ticket.Kind.choices))
    category_id = ChoiceField(label=_("category"), required=False)
    channel = ChoiceField(label=_("channel"), required=False, choices=blank_choice(Channel.choices))
    queue_id = ChoiceField(label=_("queue"), required=False)
    assignee_id = ChoiceField(label=_("assignee"), required=False)
    sort = ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    FILTERS = ("status", "priority", "kind", "category_id", "channel", "queue_id", "assignee_id", "sort")

    def __init__(self, *args, user: User, agents, queues=None, categories=category_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Callables: the rows are only read when the select is drawn, not for an htmx fragment.
        queues = queues or (lambda: Queue.objects.filter(is_active=True).order_by("name"))
        self.fields["category_id"].choices = once(lambda: blank_choice(categories()))
        self.fields["queue_id"].choices = once(lambda: blank_choice(
            [(str(queue.pk), queue.name) for queue in queues()]
        ))
        self.fields["assignee_id"].choices = once(lambda: [
            ("", _("Anyone")), (str(user.pk), _("Me")),
            *agent_choices(agent for agent in agents() if agent.pk != user.pk),
        ])

    def filter_fields(self):
        return [self[name] for name in self.FILTERS]

    def active_count(self) -> int:
        return sum(1 for name in self.FILTERS if name != "sort" and self.data.get(name))


class BulkForm(forms.Form):
    """One action applied to the tickets ticked in the inbox, each through the service on its own."""

    ASSIGN_ME = "assign_me"
    ASSIGN = "assign"
    STATUS = "status"
    PRIORITY = "priority"

    ACTIONS = (
        (ASSIGN_ME, _("Assign to me")),
        (ASSIGN, _("Assign to an agent")),
        (STATUS, _("Change status")),
        (PRIORITY, _("Set priority")),
    )

    ticket = forms.TypedMultipleChoiceField(label=_("tickets"), coerce=int)
    action = ChoiceField(label=_("action"), choices=ACTIONS)
    agent = TypedChoiceField(label=_("agent"), required=False, coerce=int, empty_value=None)
    status = ChoiceField(label=_("status"), required=False,
                               choices=blank_choice(Ticket.Status.choices, _("— status —")))
    priority = TypedChoiceField(
        label=_("priority"), required=False, coerce=int, empty_value=None,
        choices=blank_choice(Ticket.Priority.choices, _("— priority —")),
    )
    reason = forms.CharField(label=_("reason"), required=False, max_length=255,
                             widget=FastTextInput(attrs={"placeholder": _("Reason (when moving someone's ticket)")}))

    def __init__(self, *args, agents, **kwargs):
        super().__init__(*args, **kwargs)
        # Which ids exist and are visible is the read door's business; here they only must be numbers.
        sent = self.data.getlist(self.add_prefix("ticket")) if hasattr(self.data, "getlist") else []
        self.fields["ticket"].choices = [(value, value) for value in sent if value.isdigit()]
        self.fields["agent"].choices = once(lambda: blank_choice(agent_choices(agents()), _("— agent —")))

    def clean(self):
        data = super().clean()
        action = data.get("action")
        needs = {self.ASSIGN: "agent", self.STATUS: "status", self.PRIORITY: "priority"}.get(action)
        if needs and not data.get(needs):
            self.add_error(needs, _("Choose a value for this action."))
        return data


# --- the ticket page -----------------------------------------------------------------------------

class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True

    def render(self, name, value, attrs=None, renderer=None):
        context = self.get_context(name, value, attrs)
        if context["widget"]["is_initial"]:  # a file already there: Django's markup with its clear checkbox
            return super().render(name, value, attrs, renderer)
        widget = context["widget"]  # as django/forms/widgets/clearable_file_input.html draws a new upload
        return mark_safe(  # noqa: S308 (every value above is escaped)
            f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
            f'{_attrs(widget["attrs"])}>')


class MultipleFileField(forms.FileField):
    """Several files in one input; size and type limits are the service's to check."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ComposerForm(forms.Form):
    """A public reply (goes to the customer) or an internal note (seen by staff only)."""

    body = forms.CharField(
        label=_("text"), max_length=20_000, widget=FastTextarea(attrs={"rows": 5, "data-composer": ""}),
    )
    attachments = MultipleFileField(label=_("attachments"), required=False)

    def clean_body(self):
        body = self.cleaned_data["body"]
        _no_nul(body)
        return body


class ReplyForm(ComposerForm):
    """A public reply that may also move the ticket on (waiting for the customer, or resolved)."""

    then = ChoiceField(label=_("and then"), required=False, choices=[
        ("", _("keep the status")), (Ticket.Status.PENDING, _("wait for the customer")),
        (Ticket.Status.RESOLVED, _("mark resolved")),
    ])


class VersionedForm(forms.Form):
    """A change to the ticket as the person saw it: the version they read goes along, and a ticket changed
    meanwhile is refused (409) rather than overwritten."""

    version = forms.IntegerField(required=False, min_value=1, widget=FastHiddenInput)


class StatusForm(VersionedForm):
    status = ChoiceField(label=_("new status"))
    reason = forms.CharField(
        label=_("reason"), required=False, max_length=500, widget=FastTextInput,
        help_text=_("Needed to close a ticket that was not resolved, or to resolve while mandatory process steps "
                    "are open (they are then recorded as overridden)."),
    )

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(Ticket.Status.choices)
        # The statuses the ticket may move to now; the service enforces the table either way.
        sent = self.data.get("status") if self.data else None
        values = [value for value in labels if value in allowed or value == sent]
        self.fields["status"].choices = [(value, labels[value]) for value in values]

    def clean_reason(self):
        value = self.cleaned_data["reason"]
        _no_nul(value)
        return value


class AssignForm(VersionedForm):
    agent = TypedChoiceField(label=_("assignee"), coerce=int, empty_value=None)
    reason = forms.CharField(label=_("reason"), required=False, max_length=255, widget=FastTextInput,
                             help_text=_("Needed when the ticket moves from someone else."))

    def __init__(self, *args, agents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = once(
            lambda: blank_choice(agent_choices(agents()), _("— back to the queue —")))
        self.fields["agent"].required = False


class PriorityForm(VersionedForm):
    priority = TypedChoiceField(label=_("priority"), coerce=int, choices=Ticket.Priority.choices)


# --- opening a ticket ----------------------------------------------------------------------------

class TicketForm(forms.Form):
    """Open a ticket for a customer; a phone call is the same form with the channel set to phone."""

    customer = forms.IntegerField(label=_("customer"), min_value=1, widget=forms.HiddenInput)
    kind = ChoiceField(label=_("kind"), choices=Ticket.Kind.choices, initial=Ticket.Kind.INQUIRY)
    category = TypedChoiceField(label=_("category"), required=False, coerce=int, empty_value=None)
    subject = forms.CharField(label=_("subject"), max_length=200)
    description = forms.CharField(label=_("description"), required=False, max_length=20_000,
                                  widget=forms.Textarea(attrs={"rows": 6}))
    channel = ChoiceField(label=_("channel"), choices=Channel.choices, initial=Channel.PHONE)
    order = TypedChoiceField(label=_("order"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, orders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = once(lambda: blank_choice(category_choices(), _("— none —")))
        order_choices = [(str(order.pk), f"{order.number} · {order.placed_at:%Y-%m-%d}") for order in orders]
        # An order id not among the customer's recent ones is still sent on: the service decides.
        sent = self.data.get("order") if self.data else None
        if sent and sent.isdigit() and sent not in {value for value, _label in order_choices}:
            order_choices.append((sent, f"#{sent}"))
        self.fields["order"].choices = blank_choice(order_choices, _("— none —"))
        for name in ("subject", "description"):
            if name in self.fields:
                self.fields[name].validators.append(_no_nul)

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        return {
            "customer_id": data["customer"], "kind": data["kind"], "category_id": data["category"],
            "subject": data["subject"], "description": data["description"], "channel": data["channel"],
            "order_id": data["order"],
        }


class PhoneCallForm(TicketForm):
    """Log a phone call as a new phone ticket: what the caller said becomes its first message."""

    channel = None
    description = None
    subject = forms.CharField(label=_("subject"), max_length=200, required=False,
                              help_text=_("Empty: the first line of the summary."))
    summary = forms.CharField(label=_("what the caller said"), max_length=20_000,
                              widget=forms.Textarea(attrs={"rows": 6}))
    direction = ChoiceField(label=_("call"), choices=[("inbound", _("The customer called")),
                                                              ("outbound", _("We called the customer"))])
    resolve = forms.BooleanField(label=_("resolved on the call"), required=False)

    field_order = ["customer", "direction", "kind", "category", "subject", "summary", "order", "resolve"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["summary"].validators.append(_no_nul)

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "customer_id": data["customer"], "kind": data["kind"], "category_id": data["category"],
            "subject": data["subject"], "summary": data["summary"], "direction": data["direction"],
            "order_id": data["order"], "resolve": data["resolve"],
        }


def _no_nul(value: str) -> None:
    if "\x00" in (value or ""):
        raise forms.ValidationError(_("The text contains a NUL character."))
