"""Settings of the registry benchmark: the service-desk bench settings, with sessions in signed cookies so
signing the benchmark's users in writes nothing to the (shared, read-only for us) bench database."""

from service_settings import *  # noqa: F403

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
