"""The set-based import of customers: stage, prepare, merge in checkpointed batches, undo.

1. **Stage**: the file is read in chunks of rows, each row cleaned (imports.cleaning; in two worker
   processes for big files, which hand back COPY text), and valid rows go to `imports_stagedrow`
   — PostgreSQL through `COPY`, SQLite through batched `executemany` — as `create` with a
   customer id reserved for them (the sequence; SQLite: `sqlite_sequence`), with the report lines
   of bad rows. Every batch commits together with `job.staged_through`, so a crash re-reads the
   file past that row and stores nothing twice. The cleaning also hands back a hash of each valid
   row's identities (imports.digests) for step 2.
2. **Prepare** (one transaction): rows repeating an external id, phone or email of an earlier row
   of the file become report lines ("duplicate inside the file"; found from the hashes when one
   run staged the whole file, else by grouping the staged rows); the others are matched to live
   customers (external id first, then phone, then email — all three are indexed) and become
   `pending` with the matched customer's id. After this no two rows to create or update share an
   identity, so no row can match a customer this import creates. A `create` row's id is used only
   when the merge reaches its row: until then it is reserved, and after a cancel it stays unused.
3. **Merge**: row ranges in batches; each batch — new customers inserted with `INSERT … SELECT`
   under their reserved ids (no write to the staged rows; for big files on PostgreSQL half of them
   by a second connection),
   matched ones skipped, updated (`UPDATE … FROM`, the file's non-empty values win) or merged
   (only the customer's empty fields filled, notes appended, as `customers.services` merges do),
   their before-image kept on the staged row — commits with `job.checkpoint` in the same
   transaction. A `kill -9` loses at most the batch in flight, which the resume redoes.
4. **Undo**: customers created are deleted (unless something now protects them: orders…), customers
   updated get their before-image back.
"""

# SQL here is assembled from table and column names defined in this module, never from input.
# ruff: noqa: S608

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from loopcrm.accounts.models import User
from loopcrm.core import audit
from loopcrm.customers import services as customer_services
from loopcrm.customers.models import Customer
from loopcrm.customers.queries import customers_for
from loopcrm.imports.cleaning import TAG_SEPARATOR, RowCleaner
from loopcrm.imports.digests import IDENTITIES, IdentityDigests, add_row, digest_part
from loopcrm.imports.models import ImportJob, ImportRowError, OnDuplicate, StagedRow
from loopcrm.imports.reading import FileInfo, FileProblem, iter_rows
from loopcrm.imports.suppression import refuse_erased_rows

Reason = ImportRowError.Reason
log = logging.getLogger("loopcrm.imports")
Progress = Callable[[ImportJob], None]
STAGED = StagedRow._meta.db_table
CUSTOMERS = Customer._meta.db_table
STAGE_COLUMNS = ("job_id", "row", "kind", "name", "phone", "phone_raw", "email", "external_id", "birthday",
                 "country", "province", "city", "district", "street", "postal_code", "industry", "source_channel",
                 "is_vip", "notes", "tags", "action")
# Fields an update or merge may change (never the kind: a person with contacts cannot become one).
UPDATABLE = ("name", "phone", "email", "external_id", "birthday", "country", "province", "city", "district",
             "street", "postal_code", "industry", "source_channel", "is_vip", "notes")
_BLOCKS = {"phone": ("phone", "phone_raw")}
_CREATE = StagedRow.Action.CREATE.value


def batch_size() -> int:
    return 50_000 if connection.vendor == "postgresql" else 20_000


def _now() -> dt.datetime:
    return timezone.now()


# --- 1. staging ---------------------------------------------------------------------------------

def _staged_tuple(job_id: int, row: int, values: dict[str, Any]) -> tuple:
    """A valid row's staged columns (STAGE_COLUMNS), all but the reserved customer id."""
    get = values.get
    return (job_id, row, get("kind") or "person", values["name"], get("phone", ""), get("phone_raw", ""),
            get("email", ""), get("external_id", ""), get("birthday"), get("country") or "CN", get("province", ""),
            get("city", ""), get("district", ""), get("street", ""), get("postal_code", ""), get("industry", ""),
            get("source_channel", ""), bool(get("is_vip", False)), get("notes", ""), get("tags", ""), _CREATE)


# COPY's text format: a tab between columns, \N for NULL, backslash escapes in text.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_TABS = len(STAGE_COLUMNS) - 1
_NULL = "\\N"


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if type(value) is str:
        return value.translate(_COPY_ESCAPES)
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _copy_line(job_id: int, row: int, values: dict[str, Any]) -> str:
    """A valid row's staged columns (STAGE_COLUMNS) as one line of COPY text, without the reserved id and
    the newline (added when the ids are known).

    One f-string in column order: the same text `_copy_field` gives each value of `_staged_tuple`, at a
    third of the cost. A value holding a tab, newline, carriage return or backslash shows as a wrong count
    of tabs or backslashes (the birthday's \\N has one) or as the character itself, and takes the escaping
    path.
    """
    get = values.get
    birthday = get("birthday")
    line = (f"{job_id}\t{row}\t{get('kind') or 'person'!s}\t{values['name']}\t{get('phone', '')}\t"
            f"{get('phone_raw', '')}\t{get('email', '')}\t{get('external_id', '')}\t"
            f"{_NULL if birthday is None else birthday.isoformat()}\t{get('country') or 'CN'!s}\t"
            f"{get('province', '')}\t{get('city', '')}\t{get('district', '')}\t{get('street', '')}\t"
            f"{get('postal_code', '')}\t{get('industry', '')}\t{get('source_channel', '')!s}\t"
            f"{'t' if get('is_vip', False) else 'f'}\t{get('notes', '')}\t{get('tags', '')}\t{_CREATE}")
    if (line.count("\t") != _COPY_TABS or line.count("\\") != (1 if birthday is None else 0)
            or "\n" in line or "\r" in line):
        return "\t".join([_copy_field(value) for value in _staged_tuple(job_id, row, values)])
    return line


def reserve_ids(count: int) -> Sequence[int]:
    """`count` customer ids no one else will be given: one per row of a chunk, taken as the chunk is
    handed out for cleaning, so the cleaning writes each valid row's staged text whole.

    They are recorded on the staged rows, so the merge inserts with them and the undo knows them
    without writing to the staged rows again. Ids of rows that turn out to be invalid, duplicates or
    matches are never used (gaps, as a rolled-back insert leaves).
    """
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence is looked up once, in a subquery: as the argument of nextval() the name
            # lookup (pg_get_serial_sequence, then text to regclass) ran once per id, 7x the cost.
            # Unless another session took ids meanwhile they are one run: its ends are sent, not each id
            # (a million ids as rows cost the importer 0.5 s to read).
            cursor.execute(
                f"WITH taken AS (SELECT nextval(seq) AS id FROM (SELECT pg_get_serial_sequence('{CUSTOMERS}', 'id')"
                f"::regclass AS seq OFFSET 0) AS sequence, generate_series(1, %s))"
                f" SELECT MIN(id), MAX(id), CASE WHEN MAX(id) - MIN(id) + 1 = COUNT(*) THEN NULL"
                f" ELSE string_agg(id::text, ',' ORDER BY id) END FROM taken", [count])
            first, last, scattered = cursor.fetchone()
            return range(first, last + 1) if scattered is None else [int(pk) for pk in scattered.split(",")]
        # SQLite: AUTOINCREMENT gives max(sqlite_sequence, max(id)) + 1, so raising the sequence
        # reserves the block; the IMMEDIATE transaction holds the write lock until it commits.
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [CUSTOMERS])
        found = cursor.fetchone()
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {CUSTOMERS}")
        base = max(found[0] if found else 0, cursor.fetchone()[0])
        if found:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [base + count, CUSTOMERS])
        else:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [CUSTOMERS, base + count])
        return range(base + 1, base + count + 1)


class _Writer:
    """Writes staged rows: one COPY per WRITE_ROWS rows on PostgreSQL, executemany elsewhere.

    Rows are held until WRITE_ROWS of them (two chunks) or the batch's end: each write is a round trip
    the importer waits for, and a server busy with the cleaning workers answers each late (at 2,000
    rows a write, 1,000 round trips took 3-4 s of a million-row staging).
    """

    WRITE_ROWS = 4_000

    def __init__(self) -> None:
        self.held: list = []
        self.count = 0
        if connection.vendor == "postgresql":
            columns = ", ".join(f'"{c}"' for c in (*STAGE_COLUMNS, "object_id"))
            self.copy_sql = f"COPY {STAGED} ({columns}) FROM STDIN"
        else:
            self.copy_sql = ""
            marks = ", ".join(["%s"] * (len(STAGE_COLUMNS) + 1))
            self.sql = f"INSERT INTO {STAGED} ({', '.join(STAGE_COLUMNS)}, object_id) VALUES ({marks})"

    def write(self, staged: str | list, count: int) -> None:
        """`count` staged rows of one chunk: COPY text on PostgreSQL, tuples elsewhere (see _clean_chunk)."""
        if count:
            self.held.append(staged)
            self.count += count
        if self.count >= self.WRITE_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the rows held; before anything else of the batch touches the database."""
        held, self.held, self.count = self.held, [], 0
        if not held:
            return
        with connection.cursor() as cursor:
            if self.copy_sql:
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for text in held:
                        copy.write(text)
            else:
                cursor.executemany(self.sql, [row for rows in held for row in rows])


def _report_line(job: ImportJob, row: int, column: str, value: str, reason: str, message: str) -> ImportRowError:
    return ImportRowError(job_id=job.pk, row=row, column=column[:200], value=value[:200], reason=reason,
                          message=message[:500])


_REPORT_COLUMNS = ("job_id", "row", "column", "value", "reason", "message")


def save_report_lines(lines: list[ImportRowError]) -> None:
    """Store report lines: one COPY on PostgreSQL (a bulk_create costs 20 µs a line in the ORM, and a
    big file has tens of thousands), bulk_create elsewhere."""
    if not lines:
        return
    if connection.vendor != "postgresql":
        ImportRowError.objects.bulk_create(lines, batch_size=2000)
        return
    table = ImportRowError._meta.db_table
    columns = ", ".join(connection.ops.quote_name(column) for column in _REPORT_COLUMNS)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for line in lines:
            copy.write_row((line.job_id, line.row, line.column, line.value, line.reason, line.message))


# Rows are cleaned in worker processes when the file is big enough to pay for them (PERFORMANCE.md:
# cleaning, not COPY, is the per-row cost); small files stay in this process.
PARALLEL_FROM_BYTES = int(os.environ.get("LOOPCRM_IMPORT_PARALLEL_FROM_BYTES", str(8 * 1024 * 1024)))
_CHUNK = 2000
_worker_cleaner: RowCleaner | None = None


def _workers(path: Path) -> int:
    return _workers_for(path.stat().st_size)


def _workers_for(file_size: int) -> int:
    """How many processes (or connections) share the work on a file of this size: 0 for one."""
    wanted = int(os.environ.get("LOOPCRM_IMPORT_WORKERS", "2"))
    threshold = int(os.environ.get("LOOPCRM_IMPORT_PARALLEL_FROM_BYTES", str(PARALLEL_FROM_BYTES)))
    if wanted < 2 or (os.cpu_count() or 1) < 2 or file_size < threshold:
        return 0
    return wanted


def _init_worker(headers: list[str], targets: list[str], unmapped: str) -> None:
    global _worker_cleaner
    _worker_cleaner = RowCleaner(headers, targets, unmapped=unmapped)


# What a chunk of rows comes back as: (rows, last row number, staged rows — one COPY text on PostgreSQL,
# tuples elsewhere, each with its reserved id —, report lines as (row, column, value, reason, message),
# invalid rows, the valid rows' identity digests).
Outcome = tuple[int, int, str | list, list[tuple[int, str, str, str, str]], int, tuple]


def _clean_chunk(job_id: int, chunk: list[tuple[int, list[str]]], ids: Sequence[int], copy_text: bool,
                 cleaner: RowCleaner | None = None) -> Outcome:
    """Clean a chunk of rows; the valid ones are staged with the customer id reserved for their place
    in the chunk (`ids`: one per row, the invalid rows' unused)."""
    cleaner = cleaner or _worker_cleaner
    clean = cleaner.clean
    staged: list = []
    errors: list[tuple[int, str, str, str, str]] = []
    invalid = 0
    digests = digest_part()
    for (number, cells), pk in zip(chunk, ids, strict=True):
        cleaned = clean(cells)
        if cleaned.problems:
            invalid += 1
            errors.extend((number, p.column, p.value, p.reason, p.message) for p in cleaned.problems)
        else:
            staged.append(f"{_copy_line(job_id, number, cleaned.values)}\t{pk}\n" if copy_text
                          else (*_staged_tuple(job_id, number, cleaned.values), pk))
            add_row(digests, number, cleaned.values)
    # One string for the chunk's COPY text: it goes back to the importer as one piece, not 2,000.
    return len(chunk), chunk[-1][0], "".join(staged) if copy_text else staged, errors, invalid, digests


def _chunks_of_rows(rows: Iterator[tuple[int, list[str]]], skip_through: int,
                    size: int = _CHUNK) -> Iterator[list[tuple[int, list[str]]]]:
    next(rows, None)  # the header
    chunk: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if number <= skip_through:
            continue
        chunk.append((number, cells))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _cleaned(job: ImportJob, path: Path, info: FileInfo, chunk_size: int) -> Iterator[Outcome]:
    """Every chunk of rows past the checkpoint, cleaned, in file order (worker processes for big files)."""
    targets = job.mapping.get("targets", [])
    copy_text = connection.vendor == "postgresql"
    chunks = _chunks_of_rows(iter_rows(path, info, sheet=job.sheet), job.staged_through, chunk_size)
    workers = _workers(path)
    if not workers:
        cleaner = RowCleaner(job.headers, targets, unmapped=job.unmapped)
        for chunk in chunks:
            yield _clean_chunk(job.pk, chunk, reserve_ids(len(chunk)), copy_text, cleaner)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    pool = context.Pool(workers, initializer=_init_worker, initargs=(job.headers, targets, job.unmapped))
    try:
        window: collections.deque = collections.deque()
        for chunk in chunks:  # a bounded window keeps memory flat: the pool never reads ahead of it
            window.append(pool.apply_async(_clean_chunk, (job.pk, chunk, reserve_ids(len(chunk)), copy_text)))
            if len(window) >= 3 * workers:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()
    finally:
        pool.terminate()
        pool.join()


def stage(job: ImportJob, path: Path, info: FileInfo, *, size: int | None = None,
          progress: Progress | None = None, digests: IdentityDigests | None = None) -> ImportJob:
    """Read, clean and store the file's rows past `job.staged_through`, in committed batches.

    A batch is whole chunks of rows (`size` rows, or the first chunk past it when `size` is not a
    multiple of the chunk); it commits with its last row as `staged_through`. `digests`, if given,
    collects the rows' identity hashes for `prepare` (complete only if this call stages every row).
    """
    size = size or batch_size()
    job.refresh_from_db()
    digests = digests if digests is not None else IdentityDigests()
    digests.start(from_the_first_row=not job.staged_through)
    started = time.perf_counter()
    outcomes = _cleaned(job, path, info, min(_CHUNK, size))
    pending: Outcome | None = None
    try:
        while True:
            with transaction.atomic():
                current = ImportJob.objects.select_for_update().get(pk=job.pk)
                if current.status == ImportJob.Status.CANCELLED:
                    return current
                writer = _Writer()
                errors: list[ImportRowError] = []
                counts = {"rows": 0, "valid": 0, "invalid": 0}
                last = current.staged_through
                done = True
                while True:
                    if pending is not None:
                        outcome, pending = pending, None
                    else:
                        outcome = next(outcomes, None)
                        if outcome is None:
                            break
                    if counts["rows"] >= size:
                        pending = outcome
                        done = False
                        break
                    rows, last, staged, problems, invalid, digest = outcome
                    digests.add(digest)
                    counts["rows"] += rows
                    counts["invalid"] += invalid
                    counts["valid"] += rows - invalid
                    errors.extend(_report_line(current, *problem) for problem in problems)
                    writer.write(staged, rows - invalid)
                writer.flush()
                save_report_lines(errors)
                ImportJob.objects.filter(pk=job.pk).update(
                    rows=F("rows") + counts["rows"], valid=F("valid") + counts["valid"],
                    invalid=F("invalid") + counts["invalid"], staged_through=last, staging_done=done,
                    updated_at=_now(),
                )
            job.refresh_from_db()
            if progress:
                progress(job)
            if done:
                digests.finish()
                log.info("import #%s staged %d rows in %.1fs", job.pk, job.rows, time.perf_counter() - started)
                return job
    except FileProblem as problem:
        row = problem.row or job.staged_through + 1
        with transaction.atomic():
            ImportRowError.objects.create(job=job, row=row, column="", value="", reason=Reason.BAD_ROW,
                                          message=problem.message[:500])
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, message=problem.message,
                                                       finished_at=_now(), updated_at=_now())
        job.refresh_from_db()
        return job
    finally:
        outcomes.close()  # stops the worker processes, if any


# --- 2. prepare ---------------------------------------------------------------------------------

def _header_of(job: ImportJob, field: str) -> str:
    targets = job.mapping.get("targets", [])
    for index, target in enumerate(targets):
        if target == field and index < len(job.headers):
            return job.headers[index]
    return field


def _chunks(items: list, size: int = 5000) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _sharing(job_id: int, field: str) -> list[tuple[int, int, str]]:
    """Rows to create, as (id, row, value), whose `field` value another row to create has too."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.row, s.{field} FROM {STAGED} s JOIN ("
            f" SELECT {field} AS v FROM {STAGED}"
            f" WHERE job_id = %s AND {field} <> '' AND action = 'create' GROUP BY {field} HAVING COUNT(*) > 1"
            f") f ON s.{field} = f.v WHERE s.job_id = %s AND s.action = 'create'",
            [job_id, job_id],
        )
        return cursor.fetchall()


def _sharing_on_own_connection(job_id: int, field: str) -> list[tuple[int, int, str]]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET work_mem = '256MB'")
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        return _sharing(job_id, field)
    finally:
        connection.close()  # this thread's own connection


def _repeats(sharing: dict[str, list[tuple[int, int, str]]]) -> dict[str, list[tuple[int, int, str, int]]]:
    """Per identity, the rows repeating an earlier row's value, as (id, row, value, first row).

    Identities are taken in turn (external id, phone, email): a row set aside for one no longer counts,
    as first or as repeat, for the next — so a row is reported once, for the first identity it repeats.
    """
    marked: set[int] = set()
    repeats: dict[str, list[tuple[int, int, str, int]]] = {}
    for field in IDENTITIES:
        groups: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
        for pk, row, value in sharing[field]:
            if pk not in marked:
                groups[value].append((row, pk))
        found = repeats[field] = []
        for value, rows in groups.items():
            if len(rows) < 2:
                continue
            rows.sort()
            first = rows[0][0]
            for row, pk in rows[1:]:
                found.append((pk, row, value, first))
                marked.add(pk)
    return repeats


def _sharing_from_digests(job: ImportJob, digests: IdentityDigests) -> dict[str, list[tuple[int, int, str]]]:
    """For each identity, the rows `_sharing` gives and perhaps more: those whose identity hashes repeat."""
    sharing: dict[str, list[tuple[int, int, str]]] = {}
    rows = digests.candidate_rows()
    candidates: list[tuple] = []
    if connection.vendor == "postgresql" and rows:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, row, {', '.join(IDENTITIES)} FROM {STAGED} WHERE job_id = %s"
                           f" AND row = ANY(%s) AND action = %s", [job.pk, rows, _CREATE])
            candidates = cursor.fetchall()
    else:
        for chunk in _chunks(rows):
            candidates.extend(StagedRow.objects.filter(job=job, row__in=chunk, action=StagedRow.Action.CREATE)
                              .values_list("id", "row", *IDENTITIES))
    # Every row sharing a value is among the candidates; `_repeats` groups them by their real values, so
    # a candidate there only for a colliding hash (or for another identity) stays alone and is not reported.
    for position, field in enumerate(IDENTITIES, start=2):
        sharing[field] = [(found[0], found[1], found[position]) for found in candidates if found[position]]
    return sharing


def prepare(job: ImportJob, *, digests: IdentityDigests | None = None) -> ImportJob:
    """Mark repeats inside the file (report lines) and match the rest to live customers.

    `digests` from the `stage` call that staged the whole file spare the three scans for repeats.
    """
    job.refresh_from_db()
    if digests is not None and not (digests.complete and len(digests) == job.valid):
        digests = None  # staged in more than one go (a resume): the staged rows are asked instead
    # Without digests the three checks for repeats read committed staged rows only: on PostgreSQL, for
    # a big file, they run at once on connections of their own (unless a caller's transaction hides
    # the rows from them).
    parallel = (digests is None and connection.vendor == "postgresql" and not connection.in_atomic_block
                and _workers_for(job.file_size) >= 2)
    with transaction.atomic():
        return _prepare(job, parallel=parallel, digests=digests)


def _prepare(job: ImportJob, *, parallel: bool, digests: IdentityDigests | None) -> ImportJob:
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.prepared:
        return job
    labels = {"external_id": _("external id"), "phone": _("phone"), "email": _("email")}
    duplicates = 0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # fresh rows: without statistics the planner loops over them
            cursor.execute(f"ANALYZE {STAGED}")
            cursor.execute(f"ANALYZE {CUSTOMERS}")
            # Each check groups every staged row by a value: in memory, and once — a parallel plan had
            # each of its three processes build the whole grouping again (and spill it to disk).
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        if digests is not None:
            sharing = _sharing_from_digests(job, digests)
        elif parallel:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(IDENTITIES) - 1, thread_name_prefix="import-prepare") as pool:
                others = {field: pool.submit(_sharing_on_own_connection, job.pk, field) for field in IDENTITIES[1:]}
                sharing = {IDENTITIES[0]: _sharing(job.pk, IDENTITIES[0])}
                sharing.update({field: future.result() for field, future in others.items()})
        else:
            sharing = {field: _sharing(job.pk, field) for field in IDENTITIES}
        for field, found in _repeats(sharing).items():
            if not found:
                continue
            for chunk in _chunks([pk for pk, *_rest in found]):
                StagedRow.objects.filter(pk__in=chunk).update(action=StagedRow.Action.DUPLICATE, object_id=None)
            column = _header_of(job, field)
            message = _("Same %(what)s as row %(row)d; the first row is kept.")
            save_report_lines([_report_line(job, row, column, value, Reason.DUPLICATE_IN_FILE,
                                            message % {"what": labels[field], "row": first})
                               for _pk, row, value, first in found])
            duplicates += len(found)
        # People erased at their request stay out (customers.privacy): reported, like repeats, as invalid rows.
        duplicates += refuse_erased_rows(job, header_of=lambda field: _header_of(job, field))
        matched = 0  # each row is matched at most once: the next identity's UPDATE skips 'pending' rows
        for field in IDENTITIES:
            cursor.execute(
                f"UPDATE {STAGED} SET action = 'pending', object_id = (SELECT MIN(c.id) FROM {CUSTOMERS} c"
                f" WHERE c.{field} = {STAGED}.{field} AND c.merged_into_id IS NULL)"
                f" WHERE job_id = %s AND action = 'create' AND {field} <> ''"
                f" AND EXISTS (SELECT 1 FROM {CUSTOMERS} c WHERE c.{field} = {STAGED}.{field}"
                f" AND c.merged_into_id IS NULL)",
                [job.pk],
            )
            matched += max(cursor.rowcount, 0)
        # Two rows matching one customer through different identities: the first one counts.
        found = []
        if matched > 1:
            cursor.execute(
                f"SELECT s.id, s.row, s.object_id, f.first_row FROM {STAGED} s JOIN ("
                f" SELECT object_id, MIN(row) AS first_row FROM {STAGED} WHERE job_id = %s AND action = 'pending'"
                f" AND object_id IS NOT NULL GROUP BY object_id HAVING COUNT(*) > 1"
                f") f ON s.object_id = f.object_id WHERE s.job_id = %s AND s.action = 'pending'"
                f" AND s.row > f.first_row",
                [job.pk, job.pk],
            )
            found = cursor.fetchall()
        for chunk in _chunks([pk for pk, *_rest in found]):
            StagedRow.objects.filter(pk__in=chunk).update(action=StagedRow.Action.DUPLICATE)
        message = _("Matches the same customer #%(id)s as row %(row)d; the first row is kept.")
        save_report_lines([_report_line(job, row, "", str(object_id), Reason.DUPLICATE_IN_FILE,
                                        message % {"id": object_id, "row": first})
                           for _pk, row, object_id, first in found])
        duplicates += len(found)
        matched -= len(found)
    log.info("import #%s prepared in %.1fs: %d repeated inside the file, %d match customers", job.pk,
             time.perf_counter() - started, duplicates, matched)
    ImportJob.objects.filter(pk=job.pk).update(
        prepared=True, matched=matched, valid=F("valid") - duplicates, invalid=F("invalid") + duplicates,
        updated_at=_now(),
    )
    job.refresh_from_db()
    return job


# --- 3. merge -----------------------------------------------------------------------------------

def _mapped_fields(job: ImportJob) -> list[str]:
    targets = set(job.mapping.get("targets", []))
    if "first_name" in targets or "last_name" in targets:
        targets.add("name")
    if job.unmapped == "notes":
        targets.add("notes")
    return [field for field in UPDATABLE if field in targets]


def _set_clause(fields: list[str], mode: str) -> str:
    c = CUSTOMERS
    parts = []
    for field in fields:
        columns = _BLOCKS.get(field, (field,))
        if field == "birthday":
            first, second = ("s", c) if mode == OnDuplicate.UPDATE else (c, "s")
            parts.append(f"birthday = COALESCE({first}.birthday, {second}.birthday)")
        elif field == "is_vip":
            parts.append("is_vip = s.is_vip" if mode == OnDuplicate.UPDATE else f"is_vip = ({c}.is_vip OR s.is_vip)")
        elif field == "notes":
            if mode == OnDuplicate.UPDATE:
                parts.append(f"notes = CASE WHEN s.notes <> '' THEN s.notes ELSE {c}.notes END")
            else:
                parts.append(f"notes = CASE WHEN s.notes = '' THEN {c}.notes WHEN {c}.notes = '' THEN s.notes"
                             f" ELSE {c}.notes || %s || s.notes END")
        else:
            condition = f"s.{field} <> ''" if mode == OnDuplicate.UPDATE else f"{c}.{field} = '' AND s.{field} <> ''"
            if field == "country":
                condition = "s.country <> ''" if mode == OnDuplicate.UPDATE else "FALSE"
            for column in columns:
                parts.append(f"{column} = CASE WHEN {condition} THEN s.{column} ELSE {c}.{column} END")
    return ", ".join(parts)


def _apply_matches(job: ImportJob, lo: int, hi: int, by: User | None, now: dt.datetime) -> None:
    """Rows of [lo, hi] that match a customer: skip them, or update/merge with a before-image."""
    pending = StagedRow.objects.filter(job=job, row__gte=lo, row__lte=hi, action=StagedRow.Action.PENDING,
                                       object_id__isnull=False)
    if job.on_duplicate == OnDuplicate.SKIP:
        pending.update(action=StagedRow.Action.SKIP)
        return
    matches = list(pending.values_list("pk", "row", "object_id"))
    if not matches:
        return
    ids = [object_id for _pk, _row, object_id in matches]
    allowed: set[int] = set()
    for chunk in _chunks(ids):
        source = Customer.objects.filter(merged_into__isnull=True) if by is None else customers_for(by, "change")
        allowed.update(source.filter(pk__in=chunk).values_list("pk", flat=True))
    denied = [(pk, row, object_id) for pk, row, object_id in matches if object_id not in allowed]
    if denied:
        StagedRow.objects.filter(pk__in=[pk for pk, *_r in denied]).update(action=StagedRow.Action.DENIED)
        ImportRowError.objects.bulk_create([
            _report_line(job, row, "", str(object_id), Reason.NOT_ALLOWED,
                         _("This row matches customer #%(id)s, which you may not change; it was skipped.")
                         % {"id": object_id}) for _pk, row, object_id in denied])
    fields = _mapped_fields(job)
    columns = [col for field in fields for col in _BLOCKS.get(field, (field,))]
    befores: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(sorted(allowed)):
        for row in Customer.objects.filter(pk__in=chunk).values("pk", *columns):
            pk = row.pop("pk")
            befores[pk] = {key: audit._plain(value) for key, value in row.items()}
    action = StagedRow.Action.UPDATE if job.on_duplicate == OnDuplicate.UPDATE else StagedRow.Action.MERGE
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {STAGED} SET action = %s, before = %s WHERE id = %s",
            [(action, _json(befores[object_id]), pk) for pk, _row, object_id in matches if object_id in allowed],
        )
        if fields and allowed:
            set_clause = _set_clause(fields, job.on_duplicate)
            params: list[Any] = ["\n\n"] if "notes" in fields and job.on_duplicate == OnDuplicate.MERGE else []
            cursor.execute(
                f"UPDATE {CUSTOMERS} SET {set_clause}, version = {CUSTOMERS}.version + 1, updated_at = %s"
                f" FROM {STAGED} s WHERE s.job_id = %s AND s.row >= %s AND s.row <= %s AND s.action = %s"
                f" AND {CUSTOMERS}.id = s.object_id",
                [*params, now, job.pk, lo, hi, action],
            )
    if allowed:
        audit.record_many(action="update" if action == StagedRow.Action.UPDATE else "merge",
                          object_type="customers.customer", object_ids=sorted(allowed), by=by,
                          note=f"import #{job.pk}")


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _insert_new(job: ImportJob, lo: int, hi: int, by: User | None, now: dt.datetime, *,
                idempotent: bool = False) -> None:
    """Rows of [lo, hi] that match nobody become customers, with the ids reserved for them when staged.

    `idempotent`: a row whose customer exists already (inserted by a half batch that committed before a
    crash, see `_insert_in_two`) is passed over.
    """
    owner_id = by.pk if by is not None else None
    department_id = getattr(by, "department_id", None)
    fields = ("kind", "name", "phone", "phone_raw", "email", "external_id", "birthday", "country", "province",
              "city", "district", "street", "postal_code", "industry", "source_channel", "is_vip", "notes")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CUSTOMERS} (id, {', '.join(fields)}, owner_id, department_id, created_by_id, version,"
            f" created_at, updated_at, merged_into_id)"
            f" SELECT object_id, {', '.join(fields)}, %s, %s, %s, 1, %s, %s, NULL FROM {STAGED}"
            f" WHERE job_id = %s AND row >= %s AND row <= %s AND action = 'create'"
            f"{' ON CONFLICT (id) DO NOTHING' if idempotent else ''}",
            [owner_id, department_id, owner_id, now, now, job.pk, lo, hi],
        )


def _insert_committed(job: ImportJob, lo: int, hi: int, by: User | None, now: dt.datetime) -> None:
    with transaction.atomic():
        _insert_new(job, lo, hi, by, now, idempotent=True)


def _insert_in_two(job: ImportJob, lo: int, hi: int, by: User | None, now: dt.datetime, helper) -> None:
    """The batch's new customers inserted by two connections at once, the upper half by `helper`'s.

    An insert runs on one core, and on PostgreSQL two into the same table barely wait for each other.
    The upper half commits on its own, before the batch: if the batch then fails (a crash), the
    resume does it again, and the idempotent insert passes over the customers already there.
    """
    middle = (lo + hi) // 2
    upper = helper.submit(_insert_committed, job, middle + 1, hi, by, now)
    try:
        _insert_new(job, lo, middle, by, now, idempotent=True)
    finally:
        upper.result()


def _link_tags(job: ImportJob, lo: int, hi: int) -> None:
    rows = list(StagedRow.objects.filter(
        job=job, row__gte=lo, row__lte=hi, action__in=[StagedRow.Action.CREATE, StagedRow.Action.UPDATE,
                                                       StagedRow.Action.MERGE],
    ).exclude(tags="").values_list("object_id", "tags"))
    if not rows:
        return
    names = sorted({name for _id, tags in rows for name in tags.split(TAG_SEPARATOR)})
    tags = {name: tag for name, tag in zip(names, customer_services._resolve_tags(names), strict=True)}
    through = Customer.tags.through
    links = [through(customer_id=object_id, tag_id=tags[name].pk)
             for object_id, joined in rows for name in joined.split(TAG_SEPARATOR)]
    through.objects.bulk_create(links, batch_size=2000, ignore_conflicts=True)


def merge(job: ImportJob, *, by: User | None, size: int | None = None, pause: float = 0.0,
          progress: Progress | None = None) -> ImportJob:
    """Import the prepared rows past `job.checkpoint`, one committed batch at a time."""
    size = size or batch_size()
    # Big files on PostgreSQL: a second connection inserts half of each batch (unless a caller's
    # transaction would hide the staged rows' state from it).
    helper = None
    if connection.vendor == "postgresql" and not connection.in_atomic_block and _workers_for(job.file_size) >= 2:
        from concurrent.futures import ThreadPoolExecutor

        helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-merge")
    try:
        return _merge(job, by=by, size=size, pause=pause, progress=progress, helper=helper)
    finally:
        if helper is not None:
            helper.submit(_close_own_connection).result()
            helper.shutdown()


def _close_own_connection() -> None:
    connection.close()  # the calling thread's own connection (`connection` is per thread)


def _merge(job: ImportJob, *, by: User | None, size: int, pause: float, progress: Progress | None,
           helper) -> ImportJob:
    started = time.perf_counter()
    while True:
        with transaction.atomic():
            current = ImportJob.objects.select_for_update().get(pk=job.pk)
            if current.status != ImportJob.Status.IMPORTING:
                return current  # cancelled (or finished by another runner)
            lo = current.checkpoint + 1
            if not current.checkpoint:  # the first batch starts at the first row (after the header)
                first = StagedRow.objects.filter(job=current).order_by("row").values_list("row", flat=True).first()
                lo = first or lo
            if lo > current.staged_through:
                ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, finished_at=_now(),
                                                           updated_at=_now())
                current.refresh_from_db()
                log.info("import #%s merged in %.1fs", job.pk, time.perf_counter() - started)
                return current
            hi = min(lo + size - 1, current.staged_through)
            now = _now()
            if current.matched:
                _apply_matches(current, lo, hi, by, now)
            if helper is not None:
                _insert_in_two(current, lo, hi, by, now, helper)
            else:
                _insert_new(current, lo, hi, by, now)
            if "tags" in current.mapping.get("targets", []) or current.unmapped == "tags":
                _link_tags(current, lo, hi)
            counts = dict(StagedRow.objects.filter(job=current, row__gte=lo, row__lte=hi)
                          .values_list("action").annotate(n=Count("id")).order_by())
            ImportJob.objects.filter(pk=job.pk).update(
                checkpoint=hi,
                created=F("created") + counts.get(StagedRow.Action.CREATE, 0),
                updated=F("updated") + counts.get(StagedRow.Action.UPDATE, 0),
                merged=F("merged") + counts.get(StagedRow.Action.MERGE, 0),
                skipped=F("skipped") + counts.get(StagedRow.Action.SKIP, 0) + counts.get(StagedRow.Action.DENIED, 0),
                updated_at=now,
            )
        job.refresh_from_db()
        if progress:
            progress(job)
        if pause:
            time.sleep(pause)


# --- moving in: indexes rebuilt once instead of maintained row by row -----------------------------
#
# Every row inserted into customers updates each of its indexes (on PostgreSQL 20-odd, four of them
# GIN for search); for a first load of a million customers that is most of the time. With the
# "rebuild_indexes" option the secondary indexes are dropped before the first batch and built again
# (one sort each) after the last — or after a cancel, a failure or the resume that follows a crash,
# because their definitions stay on the job until they exist again. While they are gone, searches
# and duplicate checks of other users are slow: an option for moving in, not for daily imports.

def _secondary_indexes() -> list[list[str]]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN"
                " (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass) ORDER BY indexname",
                [CUSTOMERS, CUSTOMERS],
            )
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
                           " AND sql IS NOT NULL ORDER BY name", [CUSTOMERS])
        return [list(row) for row in cursor.fetchall()]


def _foreign_keys() -> list[list[str]]:
    """PostgreSQL: the customer table's own foreign keys (owner, department, creator, merged into),
    as [name, definition]. Checked row by row they cost about as much as the insert itself; added
    again after the load they are checked in one pass each."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
                       " AND contype = 'f' ORDER BY conname", [CUSTOMERS])
        return [list(row) for row in cursor.fetchall()]


def _add_foreign_keys(constraints: list[list[str]]) -> None:
    if not constraints:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no ALTER TABLE while deferred checks are pending
        present = {name for name, _definition in _foreign_keys()}
        for name, definition in constraints:
            if name not in present:
                cursor.execute(f"ALTER TABLE {CUSTOMERS} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")


def drop_indexes(job: ImportJob) -> None:
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().get(pk=job.pk)
        if current.options.get("dropped_indexes"):
            return
        indexes = _secondary_indexes()
        constraints = _foreign_keys()
        with connection.cursor() as cursor:
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
            if constraints:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for name, _definition in constraints:
                cursor.execute(f"ALTER TABLE {CUSTOMERS} DROP CONSTRAINT IF EXISTS {connection.ops.quote_name(name)}")
        current.options = {**current.options, "dropped_indexes": indexes, "dropped_constraints": constraints}
        current.save(update_fields=["options"])
    log.info("import #%s dropped %d indexes and %d foreign keys of %s", job.pk, len(indexes), len(constraints),
             CUSTOMERS)


def _create_index(definition: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred FK checks may not wait past DDL
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(definition.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
                       .replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1))


def _create_indexes_in_parallel(definitions: list[str], workers: int) -> None:
    """PostgreSQL builds a GIN index on one core: two connections build two at once. Each index
    commits on its own; the job keeps every definition until all exist, and `IF NOT EXISTS` lets
    a resume after a crash build only the missing ones."""
    import queue
    import threading

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for definition in definitions:
        todo.put(definition)
    failures: list[BaseException] = []

    def build() -> None:
        try:
            while not failures:
                try:
                    definition = todo.get_nowait()
                except queue.Empty:
                    return
                with transaction.atomic():
                    _create_index(definition)
        except BaseException as error:  # raised again in the caller's thread
            failures.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=build, name=f"import-index-{i}") for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def restore_indexes(job: ImportJob) -> None:
    started = time.perf_counter()
    options = ImportJob.objects.get(pk=job.pk).options
    indexes = options.get("dropped_indexes") or []
    if not indexes and not options.get("dropped_constraints"):
        return
    # The biggest (GIN) first, so the two builders finish together.
    definitions = sorted((definition for _name, definition in indexes), key=lambda d: " USING gin " not in d)
    workers = min(int(os.environ.get("LOOPCRM_IMPORT_WORKERS", "2")), os.cpu_count() or 1, len(definitions))
    parallel = connection.vendor == "postgresql" and workers >= 2 and not connection.in_atomic_block
    if parallel:
        _create_indexes_in_parallel(definitions, workers)
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().get(pk=job.pk)
        indexes = current.options.get("dropped_indexes") or []
        if not indexes and not current.options.get("dropped_constraints"):
            return
        if not parallel:
            for definition in definitions:
                _create_index(definition)
        _add_foreign_keys(current.options.get("dropped_constraints") or [])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {CUSTOMERS}")
        current.options = {**current.options, "dropped_indexes": [], "dropped_constraints": []}
        current.save(update_fields=["options"])
    log.info("import #%s rebuilt %d indexes and the foreign keys in %.1fs%s", job.pk, len(indexes),
             time.perf_counter() - started, f" ({workers} connections)" if parallel else "")


# --- 4. undo ------------------------------------------------------------------------------------

def undo(job: ImportJob) -> dict[str, int]:
    """Delete the customers the job created and restore those it changed. Returns what happened."""
    result = {"deleted": 0, "restored": 0, "kept": 0}
    created = list(StagedRow.objects.filter(job=job, action=StagedRow.Action.CREATE, object_id__isnull=False)
                   .values_list("object_id", flat=True).order_by("object_id"))
    for chunk in _chunks(created, 2000):
        try:
            with transaction.atomic():
                _total, detail = Customer.objects.filter(pk__in=chunk).delete()
            result["deleted"] += detail.get(Customer._meta.label, 0)
        except (ProtectedError, RestrictedError):
            for pk in chunk:  # one by one: keep those that gained orders (or anything protective)
                try:
                    with transaction.atomic():
                        deleted, _detail = Customer.objects.filter(pk=pk).delete()
                    result["deleted"] += 1 if deleted else 0
                except (ProtectedError, RestrictedError):
                    result["kept"] += 1
    changed = StagedRow.objects.filter(job=job, action__in=[StagedRow.Action.UPDATE, StagedRow.Action.MERGE],
                                       before__isnull=False).values_list("object_id", "before")
    for object_id, before in changed.iterator(chunk_size=2000):
        values = dict(before)
        if values.get("birthday"):
            values["birthday"] = dt.date.fromisoformat(values["birthday"])
        result["restored"] += Customer.objects.filter(pk=object_id).update(
            **values, version=F("version") + 1, updated_at=_now())
    return result
