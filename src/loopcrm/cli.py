"""The `loopcrm` command: set up, run, and administer a LoopCRM installation."""

from __future__ import annotations

import argparse
import os
import secrets
import sys


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings")
    import django

    django.setup()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_migrate(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    _say("Database is up to date.")
    return 0


def ensure_admin(password: str | None = None) -> tuple[bool, str | None]:
    """Create the `admin` user when missing. Returns (created, generated password or None)."""
    from loopcrm.accounts import services
    from loopcrm.accounts.models import Role, User

    if User.objects.filter(username="admin").exists():
        return False, None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    services.create_user(
        username="admin", password=password, role=Role.ADMINISTRATOR, is_superuser=True,
        display_name="Administrator", check_password=False,
    )
    return True, generated


def _serve(host: str, port: int, workers: int, *, with_worker: bool = False) -> int:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    _say(f"LoopCRM is serving on http://{host}:{port}/  (API docs: /api/docs; Ctrl+C stops it)")
    argv = [
        sys.executable, "-m", "gunicorn", "loopcrm.wsgi:application",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--access-logfile", "-",
        "--graceful-timeout", "5", "--timeout", "60",
    ]
    if not with_worker:
        os.execv(sys.executable, argv)  # noqa: S606 — replaces this process with the server
    return _serve_with_worker(argv)


def _serve_with_worker(server_argv: list[str]) -> int:
    """The server and one background worker (imports, SLA escalations, mail, surveys, the periodic jobs),
    stopped together: Ctrl+C or SIGTERM stops both, and if either stops the other is stopped too."""
    import signal
    import subprocess
    import time

    _say("Background worker started beside the server (tasks and periodic jobs).")
    children = [subprocess.Popen([sys.executable, "-m", "loopcrm.cli", "worker"]),
                subprocess.Popen(server_argv)]  # noqa: S603

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    server_code = children[1].returncode
    return server_code if server_code and server_code > 0 else 0


def cmd_serve(args: argparse.Namespace) -> int:
    return _serve(args.host, args.port, args.workers)


def cmd_quickstart(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command

    _say(f"Data folder: {settings.DATA_DIR}")
    _say("1/4 Applying database migrations…")
    call_command("migrate", interactive=False, verbosity=0)
    _say("2/4 Administrator account…")
    created, generated = ensure_admin(os.environ.get("LOOPCRM_ADMIN_PASSWORD"))
    if created and generated:
        print(f"    Created user 'admin' with password: {generated}  (shown once; change it after signing in)",
              flush=True)
    elif created:
        _say("    Created user 'admin' with the password from LOOPCRM_ADMIN_PASSWORD.")
    else:
        _say("    User 'admin' exists.")
    if args.no_demo:
        _say("3/4 Demo data skipped (--no-demo).")
    else:
        from loopcrm.demo import demo_loaded, load_demo

        if demo_loaded():
            _say("3/4 Demo data is already loaded.")
        else:
            _say("3/4 Loading demo data…")
            load_demo(customers=args.customers, seed=1, progress=_say)
    _say("4/4 Starting the server…")
    return _serve(args.host, args.port, args.workers, with_worker=not args.no_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run background tasks, with the periodic-job scheduler beside them (every worker may tick: the
    jobs' rows make sure each run is enqueued once); or, with --schedule-once, one tick and exit."""
    import socket

    from django.core.management import call_command

    from loopcrm.core.schedule import SchedulerThread, tick
    from loopcrm.scheduling import jobs

    name = f"{socket.gethostname()}:{os.getpid()}"
    if args.schedule_once:
        result = tick(jobs(), worker=name)
        for job in result.enqueued:
            _say(f"Enqueued {job}.")
        for job in result.skipped:
            _say(f"Skipped {job}: its task cannot be loaded.")
        return 0
    scheduler = None
    if not args.no_scheduler:
        scheduler = SchedulerThread(jobs, interval=args.schedule_interval, worker=name)
        scheduler.start()
    try:
        call_command("db_worker")
    finally:
        if scheduler is not None:
            scheduler.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from loopcrm.demo import demo_loaded, load_demo

    summary = load_demo(customers=args.customers, seed=args.seed, progress=_say)
    # Nothing loaded: fine when the demo is already there, an error when something else was in the way.
    return 0 if summary or demo_loaded() else 2


def cmd_createuser(args: argparse.Namespace) -> int:
    from loopcrm.accounts import services
    from loopcrm.accounts.models import Department
    from loopcrm.core.errors import DomainError

    department = None
    if args.department:
        department = Department.objects.filter(code=args.department).first()
        if department is None:
            _say(f"No department with code {args.department!r}.")
            return 2
    password = args.password or os.environ.get("LOOPCRM_NEW_USER_PASSWORD")
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    try:
        user = services.create_user(
            username=args.username, password=password, role=args.role, department=department, email=args.email or "",
            is_superuser=args.superuser,
        )
    except DomainError as error:
        _say(f"{error.field}: {error.message}" if error.field else error.message)
        return 2
    _say(f"Created user {user.username!r} ({user.get_role_display()}).")
    if generated:
        print(f"Password: {generated}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    import datetime as dt

    from django.utils import timezone

    from loopcrm.accounts import services
    from loopcrm.accounts.models import User

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        _say(f"No active user {args.username!r}.")
        return 2
    expires = timezone.now() + dt.timedelta(days=args.expires_days) if args.expires_days else None
    _token, raw = services.create_token(user=user, name=args.name, expires_at=expires)
    print(raw)
    return 0


def cmd_mail_in(args: argparse.Namespace) -> int:
    """Receive customer mail into tickets: an SMTP listener, IMAP polling, or one message on stdin (MTA pipe)."""
    from loopcrm.service import mailin
    from loopcrm.settings import env_bool

    if args.stdin:
        from loopcrm.service.services import intake

        mail = intake.receive_mail(sys.stdin.buffer.read(), recipients=args.to or None)
        _say(f"{mail.get_outcome_display()}" + (f": ticket #{mail.ticket_id}" if mail.ticket_id else ""))
        return 0 if mail.outcome != mail.Outcome.REJECTED else 2
    if args.imap:
        host = os.environ.get("LOOPCRM_IMAP_HOST", "")
        if not host:
            _say("Set LOOPCRM_IMAP_HOST, LOOPCRM_IMAP_USER and LOOPCRM_IMAP_PASSWORD to poll a mailbox.")
            return 2
        account = mailin.ImapSettings(
            host=host, port=int(os.environ.get("LOOPCRM_IMAP_PORT", "993")),
            user=os.environ.get("LOOPCRM_IMAP_USER", ""), password=os.environ.get("LOOPCRM_IMAP_PASSWORD", ""),
            folder=os.environ.get("LOOPCRM_IMAP_FOLDER", "INBOX"), ssl=env_bool("LOOPCRM_IMAP_SSL", True),
        )
        if args.once:
            _say(f"{mailin.poll_imap(account)} message(s) received.")
            return 0
        mailin.serve_imap(account, every=args.every, say=_say)
        return 0
    host, _sep, port = args.smtp.rpartition(":")
    mailin.serve_smtp(host or "127.0.0.1", int(port), say=_say)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from loopcrm.imports.cli import import_command

    return import_command(args.rest)


def cmd_export(args: argparse.Namespace) -> int:
    from loopcrm.imports.cli import export_command

    return export_command(args.rest)


def cmd_value(args: argparse.Namespace) -> int:
    from loopcrm.value.commands import recompute_command

    return recompute_command(say=_say, associations=True)


def cmd_manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["loopcrm manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    from loopcrm.accounts.models import Role

    parser = argparse.ArgumentParser(prog="loopcrm", description="LoopCRM: the CRM that closes the quality loop.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_server_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=8000)
        p.add_argument("--workers", type=int, default=int(os.environ.get("LOOPCRM_WORKERS", "2")))

    p = sub.add_parser("quickstart", help="migrate, create admin, load demo data, and serve")
    add_server_options(p)
    p.add_argument("--no-demo", action="store_true", help="do not load demo data")
    p.add_argument("--customers", type=int, default=2000, help="demo customers to create")
    p.add_argument("--no-worker", action="store_true",
                   help="do not start a background worker beside the server (run `loopcrm worker` yourself)")
    p.set_defaults(func=cmd_quickstart)

    p = sub.add_parser("serve", help="serve LoopCRM with gunicorn")
    add_server_options(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("worker", help="run background tasks and the periodic jobs")
    p.add_argument("--no-scheduler", action="store_true", help="run tasks only, no periodic jobs")
    p.add_argument("--schedule-interval", type=float, default=15.0, help="seconds between scheduler ticks")
    p.add_argument("--schedule-once", action="store_true", help="enqueue the periodic jobs that are due, and exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="load deterministic demo data")
    p.add_argument("--customers", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("createuser", help="create a user")
    p.add_argument("--username", required=True)
    p.add_argument("--role", default=Role.AGENT, choices=Role.values)
    p.add_argument("--department", help="department code")
    p.add_argument("--email")
    p.add_argument("--password", help="default: LOOPCRM_NEW_USER_PASSWORD, else generated and printed")
    p.add_argument("--superuser", action="store_true")
    p.set_defaults(func=cmd_createuser)

    p = sub.add_parser("token", help="API tokens")
    token_sub = p.add_subparsers(dest="token_command", required=True)
    t = token_sub.add_parser("create", help="create a token; prints it on stdout, once")
    t.add_argument("--username", required=True)
    t.add_argument("--name", required=True)
    t.add_argument("--expires-days", type=int)
    t.set_defaults(func=cmd_token_create)

    p = sub.add_parser("mail-in", help="receive customer mail into tickets (SMTP listener, IMAP, or stdin)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--smtp", default="127.0.0.1:2525", metavar="[HOST:]PORT",
                        help="listen for SMTP on this address (default 127.0.0.1:2525)")
    source.add_argument("--imap", action="store_true", help="poll the mailbox set by LOOPCRM_IMAP_* variables")
    source.add_argument("--stdin", action="store_true", help="read one message from standard input (MTA pipe)")
    p.add_argument("--once", action="store_true", help="with --imap: poll once and exit")
    p.add_argument("--every", type=int, default=60, help="with --imap: seconds between polls")
    p.add_argument("--to", action="append", help="with --stdin: the envelope recipient (repeatable)")
    p.set_defaults(func=cmd_mail_in)

    p = sub.add_parser("import", help="import a CSV/TSV/XLSX file: loopcrm import customers FILE …", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export a list as CSV or XLSX", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("value", help="customer value: `loopcrm value recompute`")
    p.add_argument("action", choices=["recompute"])
    p.set_defaults(func=cmd_value)

    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    _setup_django()
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
