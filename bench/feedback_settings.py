"""Settings of the voice-of-the-customer benchmark: the real settings, every app's tables built from its
models (as bench/loyalty_settings.py), and the public page's rate limit lifted for the answering load."""

from loopcrm.settings import *  # noqa: F403


class _NoMigrations(dict):
    def __contains__(self, item: object) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


MIGRATION_MODULES = _NoMigrations()
LOOPCRM_SURVEY_RATE_LIMIT = (10**9, 60)
LOOPCRM_SURVEY_FATIGUE_DAYS = 0
