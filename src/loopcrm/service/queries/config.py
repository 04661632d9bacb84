"""The service desk's configuration as opening a ticket reads it, cached per process and checked per use.

`desk_config()` costs one query (the stamp's token) while nothing changed, and re-reads everything
(six queries) after any change to a configuration table, by any process (see service.models.config
and service.config_stamp). App servers stay stateless: the cache is a copy that is proven current
before each use, never a source of truth.

The rows inside are shared by every caller of the process: read them, never change them.

`stamped_list` keeps the workbench's select lists the same way, under the same stamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from loopcrm.accounts.models import User
from loopcrm.service.models import (
    BusinessCalendar,
    ConfigStamp,
    ProcessStep,
    ProcessVersion,
    RoutingRule,
    SlaPolicy,
    TicketCategory,
)

MAX_CATEGORY_DEPTH = 20


@dataclass(frozen=True)
class DeskConfig:
    """Active routing rules, SLA policies and current process versions (in their order), the category tree
    and the default business calendar, as of one stamp."""

    stamp: str | None
    parents: dict[int, int | None]
    rules: tuple[RoutingRule, ...]
    policies: tuple[SlaPolicy, ...]
    processes: tuple[ProcessVersion, ...]
    steps: dict[int, tuple[ProcessStep, ...]]
    default_calendar: BusinessCalendar | None
    policies_by_id: dict[int, SlaPolicy] = field(default_factory=dict)

    def lineage(self, category_id: int | None) -> list[int]:
        """The category's id, then its parent's, up to the root."""
        lineage: list[int] = []
        while category_id is not None and category_id not in lineage and len(lineage) < MAX_CATEGORY_DEPTH:
            lineage.append(category_id)
            category_id = self.parents.get(category_id)
        return lineage

    def policy(self, policy_id: int | None) -> SlaPolicy | None:
        """An SLA policy by id, active or not (a routing rule may name an inactive one)."""
        return self.policies_by_id.get(policy_id) if policy_id is not None else None


_cache: dict[str, DeskConfig] = {}


def _load(stamp: str | None) -> DeskConfig:
    rules = tuple(RoutingRule.objects.filter(is_active=True).select_related("queue__department", "department")
                  .order_by("position", "id"))
    every_policy = list(SlaPolicy.objects.select_related("calendar", "category").order_by("position", "id"))
    versions = tuple(ProcessVersion.objects.filter(is_current=True, definition__is_active=True)
                     .select_related("definition").order_by("definition_id"))
    steps: dict[int, list[ProcessStep]] = {version.pk: [] for version in versions}
    for step in ProcessStep.objects.filter(version__in=[v.pk for v in versions]).order_by("version_id", "position"):
        steps[step.version_id].append(step)
    return DeskConfig(
        stamp=stamp,
        parents=dict(TicketCategory.objects.values_list("pk", "parent_id")),
        rules=rules,
        policies=tuple(policy for policy in every_policy if policy.is_active),
        processes=versions,
        steps={pk: tuple(rows) for pk, rows in steps.items()},
        default_calendar=BusinessCalendar.objects.filter(is_default=True).first(),
        policies_by_id={policy.pk: policy for policy in every_policy},
    )


def current_stamp() -> str | None:
    """The configuration stamp's token now (one query); None without a stamp row: then cache nothing."""
    return ConfigStamp.objects.filter(pk=1).values_list("token", flat=True).first()


def desk_config() -> DeskConfig:
    """The current configuration: the cached copy when its stamp is still the database's, else a fresh read.

    Without a stamp row (a database just flushed) nothing is cached.
    """
    stamp = current_stamp()
    key = connection.settings_dict["NAME"]
    cached = _cache.get(key)
    if stamp is not None and cached is not None and cached.stamp == stamp:
        return cached
    config = _load(stamp)
    if stamp is not None:
        _cache[key] = config
    return config


def forget() -> None:
    """Drop the cached copies (tests that change tables behind the triggers' back)."""
    _cache.clear()
    _lists.clear()


# --- the workbench's select lists ------------------------------------------------------------------

MAX_LISTS = 1024
_lists: dict[tuple, list] = {}


def stamped_list(stamp: str | None, key: tuple, read) -> list:
    """`read()` as a list, kept per process under (database, stamp, key): a select's options (agents of a
    department line, the queues someone works, the category tree) cost no query and no row building while
    the configuration, its people and queue membership stay as they are. Without a stamp: read every time.

    Shared by every caller of the process: read the rows, never change them.
    """
    if stamp is None:
        return list(read())
    full = (connection.settings_dict["NAME"], stamp, *key)
    rows = _lists.get(full)
    if rows is None:
        if len(_lists) >= MAX_LISTS:  # old stamps' lists go with the rest
            _lists.clear()
        rows = _lists[full] = list(read())
    return rows


def people_names(stamp: str | None, ids: Iterable[int | None]) -> dict[int, str]:
    """How each of these people is named on a page (str(user)), by id: kept per process under the configuration
    stamp `stamp`, which moves when anyone is added or their names, activity, role or department change; the ids
    not kept yet are read in one query. Shared by every caller: read it, never change it."""
    names: dict[int, str] = stamped_list(stamp, ("people-names",), lambda: [{}])[0]
    missing = {pk for pk in ids if pk is not None} - names.keys()
    if missing:
        for person in User.objects.filter(pk__in=missing).only("username", "display_name", "first_name",
                                                                 "last_name"):
            names[person.pk] = str(person)
    return names
