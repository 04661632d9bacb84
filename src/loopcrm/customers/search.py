"""Finding customers by what a person types: part of a name (Chinese or Latin), a phone fragment, an email.

What a term matches (after NFKC, trimming, control characters removed, inner whitespace collapsed):
- a name containing it, case-insensitively; a term of ONE character matches names that START with
  it (a surname: 张 finds 张伟 and 张伟明, not 李张). Substring search on one character would return
  most of the table and no index can serve it;
- when it looks like a phone number (digits with spaces, dashes, dots, brackets, an optional
  leading + or 00): the phone, stored in E.164, containing those digits. `+86 138…` matches from
  the start of the number, and so does `0086 138…` (besides containing 0086138…); a domestic
  trunk `0` (`010-6552…`) also matches `+8610 6552…` in the default region;
- when it holds an `@`: only the email (names hold no `@`); other ASCII terms of three or more
  characters also match the email.

`%`, `_` and `\\` are literal everywhere. An empty term filters nothing.

On PostgreSQL every condition has an index from migration customers/0002_search_indexes:
- two characters: the character-bigram GIN index, `name_bigrams @> ARRAY[lower(term)]` (the stored
  column `loopcrm_bigrams(name)`); pg_trgm has no trigram for `%张伟%`. For two characters the
  containment is exact, so no LIKE recheck is added: the planner would multiply the two
  selectivities, expect one row where there are thousands, and pick a bad join;
- three or more characters, phones, emails: pg_trgm GIN, with `ILIKE` (which pg_trgm serves;
  Django's `icontains` emits `UPPER(col) LIKE UPPER(..)`, which no index serves);
- one character: the btree on (lower(left(name, 1)), id).
Where the planner cannot estimate a condition (LIKE patterns), the search measures instead: a term
common on a fixed 0.5 % sample of the table is searched by walking the list's sort order (a page
comes after a few hundred rows); otherwise the matching ids (at most PROBE_LIMIT) are read through
the GIN index first, so that a rare term never sends the planner walking the whole table.
Case is folded by PostgreSQL's `lower()` on both sides, the function the indexes use, rather than
by Python's `casefold()` (which turns ß into ss and would then miss a stored ß). On SQLite the same
rules run as `LIKE … ESCAPE '\\'`, case-insensitive for ASCII only.

Queries bind parameters client-side (the Django default): with server-side prepared statements
PostgreSQL may switch a LIKE to a generic plan that ignores the pattern (see shared/PERFORMANCE.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Lookup, Q, QuerySet
from django.utils.translation import gettext as _

from loopcrm.core.errors import RuleViolation
from loopcrm.customers.models import Customer

MAX_TERM_LENGTH = 100
# Up to this many matches, a search reads the matching ids through its GIN index first (see
# _ids_through_indexes); above it the term is common and the planner's own plan is quick. 0: never.
PROBE_LIMIT = 2000
# Matches in the 0.5 % sample of _looks_common from which a term counts as common (~3,000 at 1M).
COMMON_IN_SAMPLE = 15
_NOT_BITMAP = ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan")

_SPACES = re.compile(r"\s+")
_PHONE_LIKE = re.compile(r"^(\+|00)?[\d\s\-.()/]*\d[\d\s\-.()/]*$")
_NOT_DIGIT = re.compile(r"\D")


class _ILike(Lookup):
    """`lhs ILIKE pattern` (PostgreSQL; pg_trgm GIN serves it). The pattern is escaped by the caller."""

    lookup_name = "loopcrm_ilike"
    prepare_rhs = False
    operator = "ILIKE"
    scan = False  # True: `(lhs || '')`, which no index serves, so that the planner walks its sort order

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if self.scan:
            lhs = f"({lhs} || '')"
        return f"{lhs} {self.operator} {rhs}", [*lhs_params, *rhs_params]


class _ILikeScan(_ILike):
    lookup_name = "loopcrm_ilike_scan"
    scan = True


class _Like(_ILike):
    """`lhs LIKE pattern`, case-sensitive: phones are digits, and the btree `varchar_pattern_ops` serves prefixes."""

    lookup_name = "loopcrm_like"
    operator = "LIKE"


class _LikeScan(_Like):
    lookup_name = "loopcrm_like_scan"
    scan = True


class _AnyOf(Lookup):
    """`lhs = ANY(%s::bigint[])`: one array parameter, however many ids (an IN list of 1,000 ids
    costs several ms of Python to compile and bind)."""

    lookup_name = "loopcrm_any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, list(self.rhs)]


class _Initial(Lookup):
    """`lower(left(lhs, 1)) = lower(term)`: the name starts with this character.

    Served by the btree on (lower(left(name, 1)), id): a page in id order reads just its rows, and
    ANALYZE keeps exact statistics of first characters (张 7 %, 欧 0.15 %), so estimates are right.
    """

    lookup_name = "loopcrm_initial"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"lower(left({lhs}, 1)) = lower({rhs})", [*lhs_params, *rhs_params]


class _HasBigram(Lookup):
    """`name_bigrams @> ARRAY[lower(term)]`: the two-character fragment occurs in the customer's name.

    `name_bigrams` is the stored generated column `loopcrm_bigrams(name)` of migration 0002 (not a
    model field), with its GIN index. The lhs must be `F("name")` of a customer; the column is taken
    from the same table alias.
    """

    lookup_name = "loopcrm_has_bigram"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        column = f"{compiler.quote_name_unless_alias(self.lhs.alias)}.{connection.ops.quote_name('name_bigrams')}"
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{column} @> ARRAY[lower({rhs})]::text[]", list(rhs_params)


def normalise_term(term: str | None) -> str:
    """The term as we search it: NFKC (full-width to half-width), no control characters, single spaces."""
    if not term:
        return ""
    text = unicodedata.normalize("NFKC", term)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return _SPACES.sub(" ", text).strip()


def escape_like(value: str) -> str:
    """`value` as a literal inside a LIKE pattern whose escape character is a backslash."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def phone_patterns(text: str, *, region: str | None = None) -> tuple[list[str], list[str]]:
    """(substrings, prefixes) of E.164 phones that a phone-looking term means; both empty otherwise."""
    if not _PHONE_LIKE.match(text):
        return [], []
    digits = _NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        return [], [f"+{digits}"]
    prefixes = []
    if digits.startswith("00") and len(digits) > 2:
        # 0086 138… dialled internationally; or just a fragment that happens to start with 00.
        prefixes.append(f"+{digits[2:]}")
    elif digits.startswith("0") and len(digits) > 1:
        # A domestic trunk prefix: 010-6552 1234 is +86 10 6552 1234 in E.164.
        country_code = phonenumbers.country_code_for_region(region or settings.LOOPCRM_DEFAULT_PHONE_REGION)
        if country_code:
            prefixes.append(f"+{country_code}{digits[1:]}")
    return [digits], prefixes


def search_customers(queryset: QuerySet, term: str) -> QuerySet:
    """Customers of `queryset` whose name, phone or email matches `term` (see the module docstring)."""
    text = normalise_term(term)
    if not text:
        return queryset
    if len(text) > MAX_TERM_LENGTH:
        message = _("A search term has at most %(limit)d characters.") % {"limit": MAX_TERM_LENGTH}
        raise RuleViolation(message, field="q")
    postgres = connections[queryset.db].vendor == "postgresql"
    parts = _conditions(text, postgres)
    condition = _any(parts)
    if (postgres and PROBE_LIMIT > 0 and all(part.indexed for part in parts)
            and not all(part.estimated_well for part in parts)):
        # LIKE '%…%': the planner's estimate is a guess, so measure instead (see _looks_common).
        if not _looks_common(queryset.db, condition):
            ids = _ids_through_indexes(queryset.db, condition)
            if ids is not None:
                return queryset.filter(_AnyOf(F("pk"), ids))
        return queryset.filter(_any(_conditions(text, postgres, scan=True)))
    return queryset.filter(condition)


def _any(parts: list[_Part]) -> Q:
    condition = Q()
    for part in parts:
        condition |= part.q
    return condition


@dataclass(frozen=True)
class _Part:
    q: Q
    indexed: bool = True  # an index can find the rows (pg_trgm needs three characters)
    estimated_well: bool = False  # the planner's row estimate can be trusted (not for LIKE patterns)


def _conditions(text: str, postgres: bool, *, scan: bool = False) -> list[_Part]:
    """The ways `text` can match. `scan`: the LIKE conditions in a form no index serves."""
    like, ilike = (_LikeScan, _ILikeScan) if scan else (_Like, _ILike)
    if "@" in text:
        return [_Part(_contains("email", text.lower(), postgres, ilike), indexed=len(text) >= 3)]
    parts = [_name_condition(text, postgres, ilike)]
    substrings, prefixes = phone_patterns(text)
    for digits in substrings:
        q = Q(like(F("phone"), f"%{digits}%")) if postgres else Q(phone__contains=digits)
        parts.append(_Part(q, indexed=len(digits) >= 3))
    for prefix in prefixes:
        q = Q(like(F("phone"), f"{escape_like(prefix)}%")) if postgres else Q(phone__startswith=prefix)
        parts.append(_Part(q))
    if len(text) >= 3 and text.isascii() and " " not in text and not substrings:
        parts.append(_Part(_contains("email", text.lower(), postgres, ilike)))
    return parts


def _name_condition(text: str, postgres: bool, ilike: type[_ILike] = _ILike) -> _Part:
    if len(text) == 1:
        if postgres:
            return _Part(Q(_Initial(F("name"), text)), estimated_well=True)
        return _Part(Q(name__istartswith=text))
    if not postgres:
        return _Part(Q(name__icontains=text))
    if len(text) == 2:
        # Exact on its own: the bigrams of lower(name) hold lower(term) exactly when name ILIKE '%term%'.
        # No ILIKE beside it, on purpose: the planner multiplies the two selectivities, expects one row
        # for 张伟 (1,844 at 1M), and then joins owner and department by nested loops over seq scans
        # (60 ms instead of 4 ms). Element statistics on the column make its estimate right.
        return _Part(Q(_HasBigram(F("name"), text)), estimated_well=True)
    return _Part(Q(ilike(F("name"), f"%{escape_like(text)}%")))


def _looks_common(db: str, condition: Q) -> bool:
    """Whether `condition` matches more than ~0.3 % of customers, judged on a fixed 0.5 % sample of
    the table's pages (TABLESAMPLE SYSTEM … REPEATABLE: ~1.5 ms at 1M, the same sample every time).

    A common term is searched by walking the list's sort order (the LIKE in a form no index serves),
    which finds a page after ~26/share rows: 0.3 ms for `wang` (4 % of customers). Reading its
    matches through the GIN index instead would cost 7–20 ms (the bitmap of every match is built
    before the first row is returned).
    """
    sql, params = Customer._base_manager.using(db).filter(condition).values("pk").query.sql_with_params()
    table = connections[db].ops.quote_name(Customer._meta.db_table)
    sampled = sql.replace(f"FROM {table}", f"FROM {table} TABLESAMPLE SYSTEM (0.5) REPEATABLE (7)", 1)
    with connections[db].cursor() as cursor:
        # The SQL is Django's own compilation of `condition`; the term stays a bound parameter.
        cursor.execute(f"SELECT count(*) FROM ({sampled}) AS sample", params)  # noqa: S608
        return cursor.fetchone()[0] >= COMMON_IN_SAMPLE


def _ids_through_indexes(db: str, condition: Q) -> list[int] | None:
    """The ids of all customers matching `condition`, found through its indexes; None past PROBE_LIMIT.

    PostgreSQL estimates LIKE '%…%' from a 100-value histogram: 0.01 % when no sampled value
    matches, 1 % when one does. With 1 % it walks the primary key for a page in id order, expecting
    a match every 100 rows; for 陈鸿伟 (6 customers) it walked all 1,000,000 (650 ms). Reading the
    matches through the GIN index first costs 1–3 ms; a term with more matches than PROBE_LIMIT is
    common enough that walking the primary key finds a page quickly, and it is left to the planner.
    Bitmap scans are forced for this one query only (SET LOCAL, restored when nested).
    """
    query = Customer._base_manager.using(db).filter(condition).values_list("pk", flat=True)[: PROBE_LIMIT + 1]
    sql, params = query.query.sql_with_params()
    connection = connections[db]
    nested = connection.in_atomic_block
    with transaction.atomic(using=db, savepoint=False), connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(
            f"current_setting('{name}'), set_config('{name}', 'off', true)" for name in _NOT_BITMAP))
        previous = cursor.fetchone()[::2]
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
        if nested:
            cursor.execute("SELECT " + ", ".join("set_config(%s, %s, true)" for _ in _NOT_BITMAP),
                           [value for pair in zip(_NOT_BITMAP, previous, strict=True) for value in pair])
    return ids if len(ids) <= PROBE_LIMIT else None


def _contains(field: str, text: str, postgres: bool, ilike: type[_ILike] = _ILike) -> Q:
    if postgres:
        return Q(ilike(F(field), f"%{escape_like(text)}%"))
    return Q(**{f"{field}__icontains": text})
