"""`loopcrm import …` and `loopcrm export …`: the same services as the pages and the API, from a terminal.

    loopcrm import customers FILE [--mapping M] [--dry-run] [--on-duplicate skip|update|merge]
                   [--user NAME] [--encoding E] [--sheet S] [--preset salesforce|hubspot|zoho]
                   [--unmapped ignore|notes|tags] [--report REPORT.csv] [--resume JOB_ID]
    loopcrm export customers|orders|interactions --user NAME [--format csv|xlsx] [-o FILE]
                   [--filter key=value …]

Progress goes to stderr as a bar; the summary line to stdout. Exit status: 0 done (or validated on
a dry run), 1 failed or cancelled, 2 bad arguments or refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from typing import IO


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


class ProgressBar:
    """A one-line bar on stderr (only when it is a terminal, or when forced), redrawn at most 10 times a second."""

    def __init__(self, stream: IO[str] = sys.stderr, *, force: bool = False) -> None:
        self.stream = stream
        self.enabled = force or stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, job) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        if job.status == "importing":
            phase, done, total = "import", job.checkpoint, max(job.staged_through, 1)
        else:
            phase, done, total = "check ", job.staged_through, max(job.staged_through, 1)
        width = max(10, min(40, shutil.get_terminal_size((80, 20)).columns - 50))
        fraction = min(1.0, done / total) if job.status == "importing" else (1.0 if job.staging_done else 0.5)
        filled = int(width * fraction)
        elapsed = now - self.started
        rate = job.rows / elapsed if elapsed > 0 else 0
        self.stream.write(f"\r{phase} [{'#' * filled}{'.' * (width - filled)}] row {done:>9,} "
                          f"{rate:>9,.0f} rows/s {elapsed:6.1f}s")
        self.stream.flush()

    def done(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loopcrm import", description="Import a CSV, TSV or XLSX file.")
    parser.add_argument("kind", choices=["customers", "contacts", "products", "orders", "interactions", "tickets"],
                        help="what the file holds (all but customers need --user)")
    parser.add_argument("file", nargs="?", help="the file (not needed with --resume)")
    parser.add_argument("--mapping", help="a saved mapping, by name or id")
    parser.add_argument("--preset", choices=["", "salesforce", "hubspot", "zoho"], default="")
    parser.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    parser.add_argument("--on-duplicate", choices=["skip", "update", "merge"], default="skip")
    parser.add_argument("--unmapped", choices=["ignore", "notes", "tags"], default="ignore")
    parser.add_argument("--encoding", default="", help="override the detected encoding (e.g. gb18030)")
    parser.add_argument("--sheet", default="", help="the XLSX sheet (default: the first)")
    parser.add_argument("--user", help="import as this user (owner of new customers); default: the system")
    parser.add_argument("--report", help="write the validation report (CSV) here")
    parser.add_argument("--resume", type=int, metavar="JOB_ID", help="continue a job that stopped")
    parser.add_argument("--rebuild-indexes", action="store_true",
                        help="moving in: drop the customer indexes during the import and build them once after "
                             "(fast for a first load; searches are slow until it ends)")
    parser.add_argument("--batch-size", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--progress", action="store_true", help="draw the bar even when stderr is not a terminal")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the time of each phase")
    return parser


def _user(username: str | None):
    from loopcrm.accounts.models import User

    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise SystemExit(f"No active user {username!r}.")
    return user


def import_command(argv: list[str] | None = None) -> int:
    """Run an import (or resume one) from the command line; returns the exit status."""
    args = import_parser().parse_args(argv)
    _setup()
    if args.verbose:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger = logging.getLogger("loopcrm.imports")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    from loopcrm.core.errors import DomainError
    from loopcrm.imports import services
    from loopcrm.imports.models import ImportJob, ImportMapping

    try:
        by = _user(args.user)
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    bar = ProgressBar(force=args.progress)
    try:
        if args.resume:
            job = ImportJob.objects.filter(pk=args.resume).first()
            if job is None:
                print(f"No import #{args.resume}.", file=sys.stderr)
                return 2
            by = by or job.created_by
        else:
            if not args.file:
                print("Name the file to import.", file=sys.stderr)
                return 2
            saved = None
            if args.mapping:
                lookup = {"pk": int(args.mapping)} if args.mapping.isdigit() else {"name": args.mapping}
                saved = ImportMapping.objects.filter(**lookup).first()
                if saved is None:
                    print(f"No saved mapping {args.mapping!r}.", file=sys.stderr)
                    return 2
            with open(args.file, "rb") as handle:
                job = services.create_job(
                    by=by, file=handle, file_name=os.path.basename(args.file), kind=args.kind,
                    encoding=args.encoding, sheet=args.sheet, saved_mapping=saved, preset=args.preset,
                    unmapped=args.unmapped, on_duplicate=args.on_duplicate, dry_run=args.dry_run,
                    rebuild_indexes=args.rebuild_indexes,
                )
            print(f"import #{job.pk}: {job.file_name} ({job.format}, {job.encoding or job.sheet}); columns: "
                  + ", ".join(f"{h}->{t or '-'}" for h, t in zip(job.headers, job.mapping["targets"], strict=False)),
                  file=sys.stderr)
        job = services.run_job(job, by=by, size=args.batch_size, progress=bar)
    except DomainError as error:
        bar.done()
        print(f"{error.field}: {error.message}" if error.field else error.message, file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(str(error), file=sys.stderr)
        return 2
    bar.done()
    if args.report:
        from loopcrm.imports import exports

        with open(args.report, "wb") as out:
            for chunk in exports.table_csv(exports.REPORT_HEADER, exports.report_rows(job.errors.all())):
                out.write(chunk)
    print(f"import #{job.pk} {job.status}: rows {job.rows}, valid {job.valid}, invalid {job.invalid}, "
          f"matching existing {job.matched}, created {job.created}, updated {job.updated}, merged {job.merged}, "
          f"skipped {job.skipped}" + (f" — {job.message}" if job.message else ""))
    return 0 if job.status in (ImportJob.Status.DONE, ImportJob.Status.VALIDATED) else 1


def export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loopcrm export", description="Export a list you can see.")
    parser.add_argument("what", choices=["customers", "orders", "interactions", "tickets", "segment"])
    parser.add_argument("--user", required=True, help="export as this user (their permissions and scope apply)")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("-o", "--output", help="file to write (default: stdout for CSV)")
    parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                        help="a list filter, e.g. province=广东 or is_vip=true (repeatable)")
    return parser


def export_command(argv: list[str] | None = None) -> int:
    args = export_parser().parse_args(argv)
    _setup()
    from loopcrm.core.errors import DomainError
    from loopcrm.imports import exports

    try:
        user = _user(args.user)
    except SystemExit as error:
        print(error, file=sys.stderr)
        return 2
    params = {}
    for item in args.filter:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--filter takes KEY=VALUE, not {item!r}.", file=sys.stderr)
            return 2
        params[key] = value
    try:
        export = exports.start_export(user, args.what, params, fmt=args.format)
        if args.format == "xlsx":
            if not args.output:
                print("XLSX needs --output FILE.", file=sys.stderr)
                return 2
            with exports.xlsx_file(export) as source, open(args.output, "wb") as out:
                shutil.copyfileobj(source, out)
        else:
            out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
            try:
                for chunk in exports.csv_stream(export):
                    out.write(chunk)
            finally:
                if args.output:
                    out.close()
    except DomainError as error:
        print(f"{error.field}: {error.message}" if error.field else error.message, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(import_command())
