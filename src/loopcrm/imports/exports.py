"""Export of the lists a user can see, as CSV (UTF-8 with BOM, so Excel reads Chinese) or XLSX, streamed.

Rows come through the lists' own read doors (`customers_for`, `orders_for`, `interactions_for`)
narrowed by their own filters, intersected with the user's "transfer/export" scope; they are read
in id order in keyset chunks, so memory stays flat and PostgreSQL and SQLite behave alike.

Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is prefixed
with an apostrophe in CSV; XLSX cells are written as strings, which are never evaluated.

Adding a list (tickets, segments…): write a function `(user, params) -> Export` and register it in
`EXPORTS` — see docs/import-export.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

import pydantic
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.accounts.permissions import can, scope_filter
from loopcrm.commerce.queries import filter_orders, orders_for
from loopcrm.commerce.schemas import OrderFilter
from loopcrm.core import audit
from loopcrm.core.errors import PermissionDenied, RuleViolation
from loopcrm.core.pages import end_of_day
from loopcrm.customers.filters import CustomerFilter
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import customers_for, filter_customers
from loopcrm.interactions.queries import filter_interactions, interactions_for
from loopcrm.interactions.schemas import InteractionFilter
from loopcrm.service.filters import TicketFilter
from loopcrm.service.queries.tickets import filter_tickets, inbox
from loopcrm.value.queries import get_segment_for, segment_members

CHUNK = 5000
REPORT_HEADER = ("row", "column", "value", "reason", "message")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset("".join(_FORMULA_START))


@dataclass
class Export:
    """What to write: the rows (keyset-readable queryset), the columns (label, value path) and a name."""

    name: str
    queryset: QuerySet
    columns: Sequence[tuple[str, str]]
    object_type: str
    filters: dict[str, Any]
    lookup: Callable[[list[int]], dict[int, dict[str, str]]] | None = None  # per-chunk lookups (tags)


def _require_export(user: User) -> None:
    if not can(user, "transfer", "export"):
        raise PermissionDenied(_("Your role may not export lists."))


def _export_scope(queryset: QuerySet, user: User, *, owner: str, department: str) -> QuerySet:
    condition = scope_filter(user, "transfer", "export", owner=owner, department=department)
    return queryset.none() if condition is None else queryset.filter(condition)


def _customer_tags(ids: list[int]) -> dict[int, dict[str, str]]:
    through = Customer.tags.through
    tags: dict[int, list[str]] = {}
    # The chunk's id range, not an IN list of 5,000 parameters (the chunk is read in id order);
    # customers of the range outside the export are dropped here.
    wanted = set(ids)
    if not ids:
        return {}
    links = through.objects.filter(customer_id__gte=min(ids), customer_id__lte=max(ids))
    for customer_id, name in links.values_list("customer_id", "tag__name"):
        if customer_id in wanted:
            tags.setdefault(customer_id, []).append(name)
    return {pk: {"tags": ", ".join(sorted(names))} for pk, names in tags.items()}


def _filters(schema: type[pydantic.BaseModel], params: dict[str, Any], *, until: str | None = None):
    """The list's own filter schema over the export's parameters, so an export keeps exactly the rows
    the list shows (a date given as "until" includes that whole day, as on the list)."""
    names = {field.alias or name for name, field in schema.model_fields.items()} - {"cursor", "limit", "sort"}
    wanted = {k: v for k, v in params.items() if k in names and str(v).strip() != ""}
    if until:
        end_of_day(wanted, until)
    try:
        return schema(**wanted)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "filters"
        raise RuleViolation(_("The filter %(field)s is not valid: %(reason)s.")
                            % {"field": field, "reason": first.get("msg", "")}, field=field) from error


def _customer_columns() -> list[tuple[str, str]]:
    return [
        ("ID", "id"), (_("Name"), "name"), (_("Kind"), "kind"), (_("Phone"), "phone"), (_("Email"), "email"),
        (_("External id"), "external_id"), (_("Birthday"), "birthday"), (_("Country"), "country"),
        (_("Province / state"), "province"), (_("City"), "city"), (_("District"), "district"),
        (_("Street address"), "street"), (_("Postal code"), "postal_code"), (_("Industry"), "industry"),
        (_("Source"), "source_channel"), (_("VIP"), "is_vip"), (_("Owner"), "owner__username"),
        (_("Department"), "department__name"), (_("Tags"), "tags"), (_("Notes"), "notes"),
        (_("Created"), "created_at"),
    ]


def customers_export(user: User, params: dict[str, Any]) -> Export:
    filters = _filters(CustomerFilter, params)
    queryset = filter_customers(customers_for(user, "view"), filters)
    queryset = _export_scope(queryset, user, owner="owner", department="department")
    return Export("customers", queryset, _customer_columns(), "customers.customer",
                  filters.model_dump(exclude_none=True), lookup=_customer_tags)


def orders_export(user: User, params: dict[str, Any]) -> Export:
    filters = _filters(OrderFilter, params, until="placed_to")
    wanted = filters.model_dump(exclude_none=True, exclude={"cursor", "limit", "sort"})
    queryset = filter_orders(orders_for(user, "view"), **wanted)
    queryset = _export_scope(queryset, user, owner="customer__owner", department="customer__department")
    columns = [("ID", "id"), (_("Order number"), "number"), (_("Customer"), "customer_id"),
               (_("Customer name"), "customer__name"), (_("Channel"), "channel"), (_("Status"), "status"),
               (_("Placed"), "placed_at"), (_("Currency"), "currency"), (_("Total"), "total")]
    return Export("orders", queryset, columns, "commerce.order", wanted)


def interactions_export(user: User, params: dict[str, Any]) -> Export:
    filters = _filters(InteractionFilter, params, until="to")
    wanted = filters.model_dump(exclude_none=True, exclude={"cursor", "limit", "sort"})
    queryset = filter_interactions(interactions_for(user, "view"), **wanted)
    queryset = _export_scope(queryset, user, owner="customer__owner", department="customer__department")
    columns = [("ID", "id"), (_("Customer"), "customer_id"), (_("Customer name"), "customer__name"),
               (_("Channel"), "channel"), (_("Direction"), "direction"), (_("Subject"), "subject"),
               (_("Details"), "body"), (_("When"), "occurred_at")]
    return Export("interactions", queryset, columns, "interactions.interaction", wanted)


def tickets_export(user: User, params: dict[str, Any]) -> Export:
    """The ticket inbox's view and filters (`view=mine|team|unassigned|breaching|all`, status, kind…)."""
    filters = _filters(TicketFilter, params)
    queryset = filter_tickets(inbox(user, filters.view), filters)
    queryset = _export_scope(queryset, user, owner="assignee", department="department")
    columns = [("ID", "id"), (_("Subject"), "subject"), (_("Kind"), "kind"), (_("Status"), "status"),
               (_("Priority"), "priority"), (_("Channel"), "channel"), (_("Customer"), "customer_id"),
               (_("Customer name"), "customer__name"), (_("Category"), "category__name"),
               (_("Department"), "department__name"), (_("Queue"), "queue__name"),
               (_("Assignee"), "assignee__username"), (_("Severity"), "severity"),
               (_("Root cause"), "root_cause__name"), (_("Opened"), "opened_at"),
               (_("First response"), "first_response_at"), (_("Resolved"), "resolved_at"),
               (_("Closed"), "closed_at"), (_("Reopened"), "reopen_count")]
    return Export("tickets", queryset, columns, "service.ticket",
                  filters.model_dump(exclude_none=True, exclude={"cursor", "limit", "sort"}))


def segment_export(user: User, params: dict[str, Any]) -> Export:
    """The members of a segment (`segment_id`), with the customer columns."""
    raw = params.get("segment_id")
    try:
        segment_id = int(raw)
    except (TypeError, ValueError) as error:
        raise RuleViolation(_("Name the segment by its id (segment_id)."), field="segment_id") from error
    segment = get_segment_for(user, segment_id)
    queryset = _export_scope(segment_members(segment, user=user), user, owner="owner", department="department")
    return Export("segment", queryset, _customer_columns(), "customers.customer", {"segment_id": segment_id},
                  lookup=_customer_tags)


# Lists that can be exported.
EXPORTS: dict[str, Callable[[User, dict[str, Any]], Export]] = {
    "customers": customers_export,
    "orders": orders_export,
    "interactions": interactions_export,
    "tickets": tickets_export,
    "segment": segment_export,
}


def start_export(user: User, what: str, params: dict[str, Any], *, fmt: str) -> Export:
    """Check the permission, build the export and leave the audit row (who exported what, filtered how)."""
    _require_export(user)
    if what not in EXPORTS:
        raise RuleViolation(_("Unknown list %(name)s.") % {"name": repr(what)}, field="what")
    if fmt not in ("csv", "xlsx"):
        raise RuleViolation(_("The format is csv or xlsx."), field="format")
    export = EXPORTS[what](user, params)
    audit.record(action="export", object_type=export.object_type, object_id="*", by=user,
                 changes={"filters": {k: str(v) for k, v in export.filters.items()}, "format": fmt})
    return export


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int:
        return value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return str(value)
    return value


def _plain_in(zone: dt.tzinfo) -> Callable[[Any], Any]:
    """`_plain` with the current time zone looked up once (an export converts a million times)."""

    def plain(value: Any) -> Any:
        if type(value) is dt.datetime and value.tzinfo is not None and value.year >= 1000:
            return value.astimezone(zone).isoformat(" ", "seconds")[:19]
        return _plain(value)

    return plain


def safe_cell(value: Any) -> str:
    """A cell's text for CSV, neutralised when a spreadsheet would take it for a formula."""
    text = value if type(value) is str else str(_plain(value))
    return "'" + text if text and text[0] in _FORMULA_CHARS else text


def iter_records(export: Export) -> Iterator[list[Any]]:
    """Rows as lists of plain values, in id order, read in keyset chunks."""
    paths = [path for _label, path in export.columns if path != "tags"]
    tag_index = next((i for i, (_l, p) in enumerate(export.columns) if p == "tags"), None)
    last = 0
    base = export.queryset.order_by().values_list(*paths)
    plain = _plain_in(timezone.get_current_timezone())
    while True:
        chunk = list(base.filter(pk__gt=last).order_by("pk")[:CHUNK])
        if not chunk:
            return
        last = chunk[-1][0]
        extra = export.lookup([row[0] for row in chunk]) if export.lookup else {}
        for row in chunk:
            values = [v if type(v) is str or type(v) is int else plain(v) for v in row]
            if tag_index is not None:
                values.insert(tag_index, extra.get(row[0], {}).get("tags", ""))
            yield values


def csv_stream(export: Export) -> Iterator[bytes]:
    """UTF-8 with BOM, CRLF, formulas neutralised; one bytes chunk per thousand rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([str(label) for label, _path in export.columns])
    yield "\ufeff".encode() + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    formula = _FORMULA_CHARS
    for count, values in enumerate(iter_records(export), start=1):
        writer.writerow([("'" + v if v and v[0] in formula else v) if type(v) is str else safe_cell(v)
                         for v in values])
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_file(export: Export) -> IO[bytes]:
    """An XLSX written row by row (XlsxWriter constant_memory), every cell a string; the file is rewound."""
    import xlsxwriter

    handle = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    workbook = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(export.name[:31])
    for col, (label, _path) in enumerate(export.columns):
        sheet.write_string(0, col, str(label))
    for row_number, values in enumerate(iter_records(export), start=1):
        for col, value in enumerate(values):
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(row_number, col, value)
            else:
                sheet.write_string(row_number, col, str(value))
    workbook.close()
    handle.seek(0)
    return handle


def report_rows(errors: QuerySet) -> Iterator[list[Any]]:
    for line in errors.order_by("row", "id").values_list("row", "column", "value", "reason", "message").iterator(
            chunk_size=2000):
        yield list(line)


def table_csv(header: Sequence[str], rows: Iterator[Sequence[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff".encode() + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(v) for v in row])
        if count % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def table_xlsx(header: Sequence[str], rows: Iterator[Sequence[Any]], *, sheet_name: str = "report"):
    import xlsxwriter

    handle = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    workbook = xlsxwriter.Workbook(handle, {"constant_memory": True, "strings_to_numbers": False,
                                            "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(sheet_name)
    for col, label in enumerate(header):
        sheet.write_string(0, col, str(label))
    for row_number, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, int) and not isinstance(value, bool):
                sheet.write_number(row_number, col, value)
            else:
                sheet.write_string(row_number, col, str(_plain(value)))
    workbook.close()
    handle.seek(0)
    return handle
