"""Security settings and robustness from day one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests import factories


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_SETTINGS", "DJANGO_ALLOW"))}
    env.update({"LOOPCRM_DATA_DIR": str(tmp_path), "LOOPCRM_HTTPS": "1", "DEBUG": "0",
                "SECRET_KEY": "x" * 20 + "production-grade-secret-key-with-entropy-9f8e7d6c5b4a"})
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "loopcrm.cli", "manage", "check", "--deploy", "--fail-level",
                             "WARNING"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_passwords_are_hashed_with_argon2_in_production(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DJANGO_SETTINGS", "LOOPCRM_FAST"))}
    env["LOOPCRM_DATA_DIR"] = str(tmp_path)
    code = "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    result = subprocess.run([sys.executable, "-m", "loopcrm.cli", "manage", "shell", "-c", code], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "django.contrib.auth.hashers.Argon2PasswordHasher", result.stderr


@pytest.mark.django_db
def test_security_headers_on_pages(client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_login_is_throttled_after_repeated_failures(org, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        client.post(reverse("login"), {"username": "agent", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "agent", "password": factories.PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another person signing in from elsewhere is not locked out by this.
    other = Client(REMOTE_ADDR="10.0.0.9")
    ok = other.post(reverse("login"), {"username": "lead", "password": factories.PASSWORD})
    assert ok.status_code == 302


@pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3", reason="SQLite only")
def test_sqlite_is_configured_for_concurrent_writers(tmp_path):
    """A real file database, 8 threads writing at once: every write commits, none is lost."""
    script = f"""
import os, threading
os.environ["LOOPCRM_DATA_DIR"] = {str(tmp_path)!r}
os.environ.pop("DATABASE_URL", None)
os.environ["DJANGO_SETTINGS_MODULE"] = "loopcrm.settings"
import django; django.setup()
from django.core.management import call_command
from django.db import connection, connections, transaction
call_command("migrate", verbosity=0)
from loopcrm.customers.models import Customer
with connection.cursor() as c:
    c.execute("PRAGMA journal_mode"); mode = c.fetchone()[0]
    c.execute("PRAGMA busy_timeout"); busy = c.fetchone()[0]
errors = []
def writer(n):
    try:
        for i in range(40):
            with transaction.atomic():
                Customer.objects.create(name=f"w{{n}}-{{i}}")
                Customer.objects.filter(name=f"w{{n}}-{{i}}").update(notes="touched")
    except Exception as e:
        errors.append(repr(e))
    finally:
        connections.close_all()
threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
print(mode, busy, Customer.objects.filter(notes="touched").count(), len(errors), errors[:2])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    mode, busy, touched, errors = result.stdout.split()[:4]
    assert mode == "wal"
    assert int(busy) >= 5000
    assert (int(touched), int(errors)) == (320, 0), result.stdout


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_test_database_uses_immediate_transactions():
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
