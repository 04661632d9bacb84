"""Settings of the registry benchmark: the service-desk bench settings, with sessions in signed cookies so
signing the benchmark's users in writes nothing to the (shared, read-only for us) bench database."""

import os

from service_settings import *  # noqa: F403

# REGISTRY_BENCH_ROLLUP=0 computes every day live (the registry before the daily roll-up), for before/after runs.
METRICS_ROLLUP = os.environ.get("REGISTRY_BENCH_ROLLUP", "1") != "0"

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
