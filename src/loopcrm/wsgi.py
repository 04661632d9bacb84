import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings")
application = get_wsgi_application()

# Load every view module now, then move everything loaded so far out of the garbage collector's reach:
# otherwise a full collection walks Django's whole object graph every few requests (measured: one request
# in seven took ~110 ms instead of ~25 on the word-frequency view, and the inbox's p99 was 180–225 ms).
get_resolver().url_patterns  # noqa: B018 - imports the URL modules and their views
gc.collect()
gc.freeze()
