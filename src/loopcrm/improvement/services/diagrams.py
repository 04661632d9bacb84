"""Writes of the diagrams: pinning a fishbone to a cycle and its 5-whys, and editing the customer quality
logic diagram (elements, relationships, matrix strengths). Every write takes `by=` and leaves an audit row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core import audit
from loopcrm.core.errors import Conflict, RuleViolation
from loopcrm.improvement.models import FishbonePin, LogicElement, LogicLink, Strength, WhyNote
from loopcrm.improvement.queries.fishbone import BRANCHES, Fishbone, require_change
from loopcrm.improvement.queries.logic_diagram import KINDS, key_layer, parse_key

MAX_WHYS = 5
MAX_TEXT = 2000
CLOSED = "closed"


# --- fishbone pins and 5-whys -----------------------------------------------------------------------

@transaction.atomic
def pin_fishbone(cycle, fishbone: Fishbone, *, by: User, at: dt.datetime | None = None) -> FishbonePin:
    """Keep the fishbone as it stands now on an open improvement cycle (its Plan's analysis)."""
    require_change(by)
    if getattr(cycle, "phase", "") == CLOSED:
        raise RuleViolation(_("This cycle is closed: pin the fishbone to an open cycle."), field="cycle_id")
    at = at or timezone.now()
    pin = FishbonePin.objects.create(cycle=cycle, effect=fishbone.effect[:200], filters=fishbone.filters,
                                     period_start=fishbone.start, period_end=fishbone.end,
                                     snapshot=fishbone.to_json(), created_by=by, created_at=at)
    audit.record(action="create", obj=pin, by=by, at=at, changes={"cycle": cycle.pk, "effect": pin.effect})
    return pin


@transaction.atomic
def unpin_fishbone(pin: FishbonePin, *, by: User) -> None:
    require_change(by)
    audit.record(action="delete", obj=pin, by=by, changes={"cycle": pin.cycle_id, "whys": pin.whys.count()})
    pin.delete()


def _cause_label(pin: FishbonePin, branch: str, cause_code: str) -> str:
    for item in pin.snapshot.get("branches", []):
        if item.get("branch") != branch:
            continue
        for cause in item.get("causes", []):
            if cause.get("code") == cause_code:
                return cause.get("label", "")
            for sub in cause.get("sub_causes", []):
                if sub.get("code") == cause_code:
                    return sub.get("label", "")
    from loopcrm.service.models import RootCause

    cause = RootCause.objects.filter(code=cause_code).first()
    if cause is None or cause.branch != branch:
        raise RuleViolation(_("No cause “%(code)s” on the %(branch)s branch.") % {"code": cause_code, "branch": branch},
                            field="cause_code")
    return cause.name


@transaction.atomic
def set_why(pin: FishbonePin, *, branch: str, position: int, text: str, cause_code: str = "", by: User,
            at: dt.datetime | None = None) -> WhyNote:
    """Write why number `position` (1–5) of the chain on a branch, or on one cause of it. A chain has no
    gaps: why 3 needs why 2. Writing an existing why replaces its text."""
    require_change(by)
    if branch not in BRANCHES:
        raise RuleViolation(_("Unknown branch “%(branch)s”: one of %(all)s.") % {"branch": branch,
                                                                                "all": ", ".join(BRANCHES)},
                            field="branch")
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= MAX_WHYS:
        raise RuleViolation(_("A why is numbered 1 to 5."), field="position")
    text = (text or "").strip()
    if not text:
        raise RuleViolation(_("Write the answer to this why."), field="text")
    if len(text) > MAX_TEXT:
        raise RuleViolation(_("At most %(n)s characters.") % {"n": MAX_TEXT}, field="text")
    cause_code = (cause_code or "").strip()
    label = _cause_label(pin, branch, cause_code) if cause_code else ""
    FishbonePin.objects.select_for_update().filter(pk=pin.pk).first()  # one chain writer at a time
    chain = WhyNote.objects.filter(pin=pin, branch=branch, cause_code=cause_code)
    if position > 1 and not chain.filter(position=position - 1).exists():
        raise RuleViolation(_("Answer why %(n)s first.") % {"n": position - 1}, field="position")
    at = at or timezone.now()
    note = chain.filter(position=position).first()
    if note is None:
        note = WhyNote.objects.create(pin=pin, branch=branch, cause_code=cause_code, cause_label=label,
                                      position=position, text=text, author=by, created_at=at, updated_at=at)
        audit.record(action="create", obj=note, by=by, at=at, changes={"pin": pin.pk, "text": text})
    elif note.text != text:
        old = note.text
        note.text, note.author, note.updated_at = text, by, at
        note.save(update_fields=["text", "author", "updated_at"])
        audit.record(action="update", obj=note, by=by, at=at, changes={"text": [old, text]})
    return note


@transaction.atomic
def delete_why(note: WhyNote, *, by: User) -> None:
    """Remove a why and those after it in its chain (a chain has no gaps)."""
    require_change(by)
    later = WhyNote.objects.filter(pin_id=note.pin_id, branch=note.branch, cause_code=note.cause_code,
                                   position__gte=note.position)
    positions = list(later.values_list("position", flat=True))
    audit.record(action="delete", obj=note, by=by, changes={"positions": positions})
    later.delete()


# --- logic diagram: elements ------------------------------------------------------------------------

def _element_fields(*, layer: str | None, label: str | None, note: str | None, source_type: str | None,
                    source_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if layer is not None:
        if layer not in LogicElement.Layer.values:
            raise RuleViolation(_("Unknown layer “%(layer)s”: one of %(all)s.")
                                % {"layer": layer, "all": ", ".join(LogicElement.Layer.values)}, field="layer")
        out["layer"] = layer
    if label is not None:
        label = label.strip()
        if not label:
            raise RuleViolation(_("Give the element a label."), field="label")
        if len(label) > 120:
            raise RuleViolation(_("At most %(n)s characters.") % {"n": 120}, field="label")
        out["label"] = label
    if note is not None:
        if len(note) > MAX_TEXT:
            raise RuleViolation(_("At most %(n)s characters.") % {"n": MAX_TEXT}, field="note")
        out["note"] = note.strip()
    if source_type is not None or source_id is not None:
        source_type, source_id = (source_type or "").strip(), (source_id or "").strip()
        if bool(source_type) != bool(source_id):
            raise RuleViolation(_("Give both the linked object's type and its id, or neither."),
                                field="source_id" if source_type else "source_type")
        if source_type:
            if source_type not in KINDS or source_type == "element":
                raise RuleViolation(_("Unknown object type “%(type)s”.") % {"type": source_type}, field="source_type")
            key_layer(f"{source_type}:{source_id}", field_name="source_id")
        out["source_type"], out["source_id"] = source_type, source_id
    return out


@transaction.atomic
def add_element(*, layer: str, label: str, note: str = "", source_type: str = "", source_id: str = "",
                position: int | None = None, by: User, at: dt.datetime | None = None) -> LogicElement:
    """Add a need, process, indicator or feedback mechanism to the logic diagram."""
    require_change(by)
    fields = _element_fields(layer=layer, label=label, note=note, source_type=source_type, source_id=source_id)
    at = at or timezone.now()
    if position is None:
        position = LogicElement.objects.filter(layer=fields["layer"]).count()
    element = LogicElement.objects.create(**fields, position=position, created_by=by, created_at=at, updated_by=by,
                                          updated_at=at)
    audit.record(action="create", obj=element, by=by, at=at, changes=fields)
    return element


@transaction.atomic
def edit_element(element: LogicElement, *, by: User, at: dt.datetime | None = None, layer: str | None = None,
                 label: str | None = None, note: str | None = None, source_type: str | None = None,
                 source_id: str | None = None, position: int | None = None) -> LogicElement:
    require_change(by)
    element = LogicElement.objects.select_for_update().get(pk=element.pk)
    fields = _element_fields(layer=layer, label=label, note=note, source_type=source_type, source_id=source_id)
    if position is not None:
        if not 0 <= position <= 10_000:
            raise RuleViolation(_("A position from 0 to 10000."), field="position")
        fields["position"] = position
    before = audit.snapshot(element, fields)
    for name, value in fields.items():
        setattr(element, name, value)
    changes = audit.diff(before, audit.snapshot(element, fields))
    if changes:
        element.updated_by, element.updated_at = by, at or timezone.now()
        element.save(update_fields=[*fields, "updated_by", "updated_at"])
        audit.record(action="update", obj=element, by=by, at=element.updated_at, changes=changes)
    return element


@transaction.atomic
def remove_element(element: LogicElement, *, by: User) -> None:
    """Remove an added element and every relationship that names it."""
    require_change(by)
    key = element.key
    links = LogicLink.objects.filter(source=key) | LogicLink.objects.filter(target=key)
    audit.record(action="delete", obj=element, by=by, changes={"label": element.label, "links": links.count()})
    links.delete()
    element.delete()


# --- logic diagram: relationships and the matrix ----------------------------------------------------

def _strength(strength: str) -> str:
    if strength not in Strength.values:
        raise RuleViolation(_("Strength is one of %(all)s.") % {"all": ", ".join(Strength.values)}, field="strength")
    return strength


def _find(source: str, target: str) -> LogicLink | None:
    return (LogicLink.objects.select_for_update().filter(source=source, target=target).first()
            or LogicLink.objects.select_for_update().filter(source=target, target=source).first())


@transaction.atomic
def add_link(*, source: str, target: str, strength: str = Strength.MEDIUM, note: str = "", by: User,
             at: dt.datetime | None = None) -> LogicLink:
    """Relate two elements (live or added). One relationship per pair, whichever way round."""
    require_change(by)
    parse_key(source, field_name="source")
    parse_key(target, field_name="target")
    if source == target:
        raise RuleViolation(_("An element cannot relate to itself."), field="target")
    key_layer(source, field_name="source")
    key_layer(target, field_name="target")
    strength = _strength(strength)
    if len(note) > 300:
        raise RuleViolation(_("At most %(n)s characters.") % {"n": 300}, field="note")
    if _find(source, target) is not None:
        raise Conflict(_("These two elements are already related; change the strength instead."), field="target")
    at = at or timezone.now()
    try:
        with transaction.atomic():
            link = LogicLink.objects.create(source=source, target=target, strength=strength, note=note.strip(),
                                            created_by=by, created_at=at, updated_by=by, updated_at=at)
    except IntegrityError as error:  # someone related them a moment ago
        raise Conflict(_("These two elements are already related; change the strength instead."),
                       field="target") from error
    audit.record(action="create", obj=link, by=by, at=at, changes={"source": source, "target": target,
                                                                    "strength": strength})
    return link


@transaction.atomic
def edit_link(link: LogicLink, *, by: User, strength: str | None = None, note: str | None = None,
              at: dt.datetime | None = None) -> LogicLink:
    require_change(by)
    link = LogicLink.objects.select_for_update().get(pk=link.pk)
    changes: dict[str, list[Any]] = {}
    if strength is not None and _strength(strength) != link.strength:
        changes["strength"] = [link.strength, strength]
        link.strength = strength
    if note is not None:
        if len(note) > 300:
            raise RuleViolation(_("At most %(n)s characters.") % {"n": 300}, field="note")
        if note.strip() != link.note:
            changes["note"] = [link.note, note.strip()]
            link.note = note.strip()
    if changes:
        link.updated_by, link.updated_at = by, at or timezone.now()
        link.save(update_fields=["strength", "note", "updated_by", "updated_at"])
        audit.record(action="update", obj=link, by=by, at=link.updated_at, changes=changes)
    return link


@transaction.atomic
def remove_link(link: LogicLink, *, by: User) -> None:
    require_change(by)
    audit.record(action="delete", obj=link, by=by, changes={"source": link.source, "target": link.target})
    link.delete()


@transaction.atomic
def set_strength(*, need: str, other: str, strength: str | None, by: User,
                 at: dt.datetime | None = None) -> LogicLink | None:
    """Set one matrix cell: need × process or indicator, strong/medium/weak, or empty (None or "")."""
    require_change(by)
    if key_layer(need, field_name="need") != "need":
        raise RuleViolation(_("Matrix rows are customer needs."), field="need")
    if key_layer(other, field_name="other") not in ("process", "indicator"):
        raise RuleViolation(_("Matrix columns are service processes or key indicators."), field="other")
    link = _find(need, other)
    if not strength:
        if link is not None:
            remove_link(link, by=by)
        return None
    if link is None:
        return add_link(source=need, target=other, strength=strength, by=by, at=at)
    return edit_link(link, strength=strength, by=by, at=at)
