# Served through WSGI in production (gunicorn): see shared/PERFORMANCE.md on sync Django under ASGI.
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loopcrm.settings")
application = get_asgi_application()
