"""The `loopcrm` command as an administrator uses it, in a fresh data folder (real subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.xdist_group("cli")


def loopcrm(*args: str, data_dir, env_extra: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_SETTINGS")}
    env.pop("DATABASE_URL", None)  # the CLI story is told on the embedded SQLite default
    env.update({"LOOPCRM_DATA_DIR": str(data_dir), **(env_extra or {})})
    result = subprocess.run(
        [sys.executable, "-m", "loopcrm.cli", *args], env=env, capture_output=True, text=True, timeout=180,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"loopcrm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("loopcrm-cli")
    loopcrm("migrate", data_dir=path)
    return path


def test_secret_key_is_generated_once_and_kept_private(data_dir):
    key_file = data_dir / "secret_key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = key_file.read_text()
    loopcrm("migrate", data_dir=data_dir)
    assert key_file.read_text() == first


def test_token_create_prints_only_the_token(data_dir):
    loopcrm("createuser", "--username", "integrator", "--role", "administrator", data_dir=data_dir,
            env_extra={"LOOPCRM_NEW_USER_PASSWORD": "A-long-enough-pass-42"})
    result = loopcrm("token", "create", "--username", "integrator", "--name", "erp sync", data_dir=data_dir)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lcrm_") and len(lines[0]) > 40


def test_token_create_for_unknown_user_fails_clearly(data_dir):
    result = loopcrm("token", "create", "--username", "nobody", "--name", "x", data_dir=data_dir, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "No active user 'nobody'" in result.stderr


def test_createuser_refuses_a_weak_password_and_a_taken_name(data_dir):
    weak = loopcrm("createuser", "--username", "weakling", "--password", "123", data_dir=data_dir, check=False)
    assert weak.returncode == 2 and "password" in weak.stderr
    loopcrm("createuser", "--username", "dup", "--password", "A-long-enough-pass-42", data_dir=data_dir)
    again = loopcrm("createuser", "--username", "DUP", "--password", "A-long-enough-pass-42", data_dir=data_dir,
                    check=False)
    assert again.returncode == 2 and "taken" in again.stderr


QUEUED = {"LOOPCRM_IMMEDIATE_TASKS": "0"}


def test_the_worker_enqueues_each_due_periodic_job_once(data_dir):
    """`loopcrm worker --schedule-once` books the jobs' first runs, then enqueues a job once it is due."""
    # With the real task queue (the test settings' immediate backend would run it on the spot).
    booked = loopcrm("worker", "--schedule-once", data_dir=data_dir, env_extra=QUEUED)
    assert "Enqueued feedback-sweep" not in booked.stderr  # its first run is in the future
    make_due = ("from django.utils import timezone; from loopcrm.core.models import PeriodicRun; "
                "from loopcrm.scheduling import jobs; "
                "print(PeriodicRun.objects.count() == len(jobs()), "
                "PeriodicRun.objects.filter(name='feedback-sweep').update(due_at=timezone.now()))")
    # Every registered job has its booked row; only the feedback sweep is made due.
    assert last_line(loopcrm("manage", "shell", "-c", make_due, data_dir=data_dir, env_extra=QUEUED)) == "True 1"
    due = loopcrm("worker", "--schedule-once", data_dir=data_dir, env_extra=QUEUED)
    assert due.stderr.count("Enqueued feedback-sweep.") == 1  # (the every-minute SLA sweep may join in)
    again = loopcrm("worker", "--schedule-once", data_dir=data_dir, env_extra=QUEUED)
    assert "Enqueued feedback-sweep" not in again.stderr
    queued = ("from django_tasks_db.models import DBTaskResult; print([r.task_path for r in "
              "DBTaskResult.objects.filter(task_path__startswith='loopcrm.feedback')])")
    assert last_line(loopcrm("manage", "shell", "-c", queued, data_dir=data_dir, env_extra=QUEUED)) == \
        "['loopcrm.feedback.tasks.feedback_sweep']"


def last_line(result: subprocess.CompletedProcess) -> str:
    """What a `manage shell -c` printed last (Django's shell first says what it imported)."""
    return result.stdout.strip().splitlines()[-1]


def test_a_running_worker_ticks_the_scheduler_and_runs_what_it_enqueued(data_dir):
    make_due = ("from django.utils import timezone; from loopcrm.core.models import PeriodicRun; "
                "PeriodicRun.objects.filter(name='feedback-sweep').update(due_at=timezone.now()); "
                "print(PeriodicRun.objects.filter(name='feedback-sweep').count())")
    loopcrm("worker", "--schedule-once", data_dir=data_dir, env_extra=QUEUED)
    assert last_line(loopcrm("manage", "shell", "-c", make_due, data_dir=data_dir, env_extra=QUEUED)) == "1"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_SETTINGS")}
    env.pop("DATABASE_URL", None)
    env.update({"LOOPCRM_DATA_DIR": str(data_dir), **QUEUED})
    worker = subprocess.Popen([sys.executable, "-m", "loopcrm.cli", "worker", "--schedule-interval", "0.2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = ("from django_tasks_db.models import DBTaskResult; "
            "print(DBTaskResult.objects.filter(task_path='loopcrm.feedback.tasks.feedback_sweep', "
            "status='SUCCESSFUL').count())")
    try:
        for _ in range(60):
            if last_line(loopcrm("manage", "shell", "-c", done, data_dir=data_dir, env_extra=QUEUED)) != "0":
                break
        else:
            raise AssertionError("the worker never ran the periodic job")
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def children_of(pid: int) -> set[int]:
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            found |= {int(child) for child in listing.read().split()}
    return found


def test_quickstart_runs_a_worker_beside_the_server_and_stops_both(tmp_path):
    """The one command a new user runs must also do background work: an uploaded file gets validated."""
    import json
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_SETTINGS")}
    env.pop("DATABASE_URL", None)
    env.update({"LOOPCRM_DATA_DIR": str(tmp_path), "LOOPCRM_ADMIN_PASSWORD": "quick-start-1", **QUEUED})
    quickstart = subprocess.Popen([sys.executable, "-m", "loopcrm.cli", "quickstart", "--no-demo", "--port", str(port),
                                   "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2)  # noqa: S310 — our own server
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("quickstart never answered /healthz")
        assert len(children_of(quickstart.pid)) == 2  # the server and the worker
        token = last_line(loopcrm("token", "create", "--username", "admin", "--name", "quickstart test",
                                  data_dir=tmp_path))
        body = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n"
                b"Content-Type: text/csv\r\n\r\nname,phone\r\nAlice,13800138000\r\n--b--\r\n")
        upload = urllib.request.Request(f"{base}/api/v1/imports", data=body, method="POST", headers={  # noqa: S310
            "Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=b"})
        job = json.load(urllib.request.urlopen(upload, timeout=30))  # noqa: S310
        for _ in range(120):
            read = urllib.request.Request(f"{base}/api/v1/imports/{job['id']}",  # noqa: S310
                                          headers={"Authorization": f"Bearer {token}"})
            job = json.load(urllib.request.urlopen(read, timeout=30))  # noqa: S310
            if job["status"] != "validating":
                break
            time.sleep(0.5)
        assert job["status"] == "validated"  # the worker beside the server did it
        children = children_of(quickstart.pid)
    finally:
        quickstart.send_signal(signal.SIGTERM)
        quickstart.wait(timeout=30)
    time.sleep(0.5)
    assert not [pid for pid in children if alive(pid)]  # both stopped with it


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
