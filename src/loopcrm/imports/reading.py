"""Reading uploaded files row by row, whatever their encoding and format (memory stays flat).

- Format: an XLSX is a zip (magic `PK\\x03\\x04`); anything else is delimited text, its delimiter
  sniffed from the header line (comma, tab, semicolon or the full-width comma `，`).
- Encoding: a BOM decides (UTF-8, UTF-16 LE/BE); else a file whose first 64 KiB decode as UTF-8 is
  UTF-8; else charset-normalizer guesses from those 64 KiB (GBK and GB2312 are read as their
  superset GB18030). The caller may override it; a file that does not decode is refused with the
  row where it broke, never imported as mojibake.
- Rows are numbered as a spreadsheet shows them: the header is row 1, the first record row 2
  (for CSV a record with a quoted newline is still one row).
- XLSX cells come out as text: whole numbers without ".0" (so a phone typed as a number keeps its
  digits), dates as ISO dates, times as ISO date-times.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

HEAD_BYTES = 64 * 1024
FIELD_LIMIT = 16 * 1024 * 1024  # a CSV field may hold 10 MB of notes; Python's default is 128 KiB
MAX_COLUMNS = 500
XLSX_MAX_UNPACKED = 2 * 1024**3  # a zip bomb is refused before openpyxl inflates it
XLSX_MAX_RATIO = 200
DELIMITERS = (",", "\t", ";", "，")

csv.field_size_limit(FIELD_LIMIT)


class FileProblem(Exception):
    """The file as a whole cannot be read (structure, encoding, format). `row` is where it broke."""

    def __init__(self, message: str, *, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


@dataclass(frozen=True)
class FileInfo:
    format: str  # "csv", "tsv", "xlsx"
    encoding: str  # "" for xlsx
    delimiter: str
    sheets: list[str]


def is_xlsx(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


def detect_encoding(head: bytes) -> str:
    """The encoding of a text file from its first bytes (see the module docstring)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a cut character at the end is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise FileProblem(_("The file is not text in any encoding we recognise (is it a binary file named .csv?)."))
    name = codecs.lookup(best.encoding).name
    if name in ("gbk", "gb2312", "hz", "gb18030", "cp936"):
        return "gb18030"
    return name


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def inspect(path: str | Path, *, encoding: str = "") -> FileInfo:
    """Format, encoding, delimiter and (XLSX) sheet names of a file, from its first bytes."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if not head:
        raise FileProblem(_("The file is empty."))
    if is_xlsx(head):
        return FileInfo(format="xlsx", encoding="", delimiter="", sheets=sheet_names(path))
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(_("This is an old Excel (.xls) or an encrypted workbook; save it as .xlsx or CSV."))
    encoding = encoding or detect_encoding(head)
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=False)
    except (UnicodeDecodeError, LookupError) as error:
        raise FileProblem(_("The file does not read as %(encoding)s: choose its encoding.") % {"encoding": encoding},
                          row=1) from error
    if "\x00" in text[:4096]:
        raise FileProblem(_("The file holds NUL bytes where text should be: it is binary, or its encoding is wrong."))
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = sniff_delimiter(first_line)
    return FileInfo(format="tsv" if delimiter == "\t" else "csv", encoding=encoding, delimiter=delimiter, sheets=[])


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as error:
        raise FileProblem(_("The workbook is damaged (not a valid .xlsx).")) from error
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos) or 1
    if unpacked > XLSX_MAX_UNPACKED or (unpacked / packed > XLSX_MAX_RATIO and unpacked > 50 * 1024**2):
        raise FileProblem(_("The workbook unpacks to an implausible size (a zip bomb?); it was not opened."))
    if any(info.filename.endswith("vbaProject.bin") for info in infos):
        raise FileProblem(_("The workbook contains macros; save it as a plain .xlsx without macros."))


def sheet_names(path: str | Path) -> list[str]:
    path = Path(path)
    _check_zip(path)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a broken workbook
        raise FileProblem(_("The workbook could not be opened (damaged or not an .xlsx).")) from error
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """A spreadsheet cell as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


def iter_rows(path: str | Path, info: FileInfo, *, sheet: str = "") -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) for every row, the header first (row 1). Blank rows are skipped."""
    if info.format == "xlsx":
        yield from _iter_xlsx(Path(path), sheet)
    else:
        yield from _iter_text(Path(path), info)


def _iter_text(path: Path, info: FileInfo) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding=info.encoding, errors="strict", newline="") as handle:
        reader = csv.reader(handle, delimiter=info.delimiter, strict=True)
        number = 0
        try:
            for cells in reader:
                number += 1
                if number == 1 and cells:
                    cells[0] = cells[0].lstrip("\ufeff")
                if len(cells) > MAX_COLUMNS:
                    raise FileProblem(_("Row %(row)d has %(count)d columns; at most %(limit)d are read.")
                                      % {"row": number, "count": len(cells), "limit": MAX_COLUMNS}, row=number)
                if not "".join(cells).strip():  # blank: every cell empty or whitespace (one C call)
                    continue
                yield number, cells
        except UnicodeDecodeError as error:
            raise FileProblem(
                _("The file stops reading as %(encoding)s after row %(row)d: choose its encoding.")
                % {"encoding": info.encoding, "row": number}, row=number + 1,
            ) from error
        except csv.Error as error:
            raise FileProblem(
                _("The file is not well-formed CSV near row %(row)d (%(error)s); check quotes there.")
                % {"row": number + 1, "error": error}, row=number + 1,
            ) from error


def _iter_xlsx(path: Path, sheet: str) -> Iterator[tuple[int, list[str]]]:
    _check_zip(path)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:
        raise FileProblem(_("The workbook could not be opened (damaged or not an .xlsx).")) from error
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise FileProblem(_("The workbook has no sheet %(sheet)s.") % {"sheet": repr(sheet)})
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
            if len(values) > MAX_COLUMNS:
                values = values[:MAX_COLUMNS] if not any(v is not None for v in values[MAX_COLUMNS:]) else values
                if len(values) > MAX_COLUMNS:
                    raise FileProblem(_("Row %(row)d has over %(limit)d columns.")
                                      % {"row": number, "limit": MAX_COLUMNS}, row=number)
            cells = [cell_text(value) for value in values]
            if not any(cell.strip() for cell in cells):
                continue
            yield number, cells
    finally:
        workbook.close()
