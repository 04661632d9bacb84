"""Reading a job's file back: the first rows for the mapping screen, the rejected rows for correction."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from django.utils.translation import gettext as _

from loopcrm.imports.models import FileFormat, ImportJob, ImportRowError
from loopcrm.imports.reading import FileProblem, inspect, iter_rows


def _rows(job: ImportJob) -> Iterator[tuple[int, list[str]]]:
    info = inspect(job.file.path, encoding=job.encoding if job.format != FileFormat.XLSX else "")
    rows = iter_rows(Path(job.file.path), info, sheet=job.sheet)
    next(rows, None)  # the header
    return rows


def preview_rows(job: ImportJob, count: int = 10) -> list[tuple[int, list[str]]]:
    """The first `count` data rows as read (cells shortened for the screen); [] when the file cannot be read."""
    try:
        return [(n, [cell[:100] for cell in cells]) for n, cells in islice(_rows(job), count)]
    except FileProblem:
        return []


def rejected_rows(job: ImportJob) -> tuple[list[str], Iterator[list[str]]]:
    """The file's header plus "errors", and the rows that have report lines, as they were in the file."""
    messages: dict[int, list[str]] = {}
    for row, column, message in ImportRowError.objects.filter(job=job).values_list("row", "column", "message"):
        messages.setdefault(row, []).append(f"{column}: {message}" if column else message)
    header = [*job.headers, str(_("errors"))]

    def rows() -> Iterator[list[str]]:
        try:
            for number, cells in _rows(job):
                if number in messages:
                    yield [*cells, " | ".join(messages[number])]
        except FileProblem:
            return

    return header, rows()
