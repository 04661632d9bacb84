"""The served application loads its views at start and keeps them out of the garbage collector's full
collections (which otherwise walk Django's whole object graph every few requests)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_wsgi_module_loads_the_views_and_freezes_them():
    # A fresh interpreter: importing the module here would freeze the test run's own objects.
    code = ("import gc, sys, loopcrm.wsgi; "
            "print(gc.get_freeze_count() > 50000, 'loopcrm.service.views.workbench' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "loopcrm.settings_test"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
