"""Settings for the test suite: the real settings with fast hashing and no static manifest."""

import os
import tempfile

os.environ.setdefault("LOOPCRM_FAST_PASSWORD_HASHER", "1")
os.environ.setdefault("LOOPCRM_PLAIN_STATIC", "1")
os.environ.setdefault("LOOPCRM_IMMEDIATE_TASKS", "1")
os.environ.setdefault("LOOPCRM_DATA_DIR", os.path.join(tempfile.gettempdir(), "loopcrm-test-data"))

from loopcrm.settings import *  # noqa: F403

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# Throttling is tested explicitly; elsewhere many logins in a row are normal.
AXES_ENABLED = os.environ.get("LOOPCRM_TEST_AXES", "0") == "1"

# A real file for the SQLite test database (one per process, so parallel runs never share it): an
# in-memory shared-cache database ignores busy_timeout and fails concurrent writers at once, which
# is not how LoopCRM runs.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = os.path.join(tempfile.mkdtemp(prefix="loopcrm-test-"), "test.sqlite3")  # noqa: F405

