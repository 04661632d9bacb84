"""Django for a standalone benchmark script: the database it names (or a fresh SQLite file in a temporary
data directory), the real settings, and every table built (apps given as `unmigrated` from their models)."""

from __future__ import annotations

import os
import tempfile


def start_django(*, database_url: str, data_dir: str, prefix: str, unmigrated: tuple[str, ...] = ()) -> None:
    os.environ["LOOPCRM_DATA_DIR"] = data_dir or tempfile.mkdtemp(prefix=prefix)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "loopcrm.settings"
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.MIGRATION_MODULES = dict.fromkeys(unmigrated)
    call_command("migrate", verbosity=0)  # the migrated apps first: on PostgreSQL the synced tables point at them
    call_command("migrate", run_syncdb=True, verbosity=0)
