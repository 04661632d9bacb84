"""Settings of the loyalty benchmark: the real settings, every app's tables built from its models.

(While some apps have no migration files yet, `migrate --run-syncdb` with no migration modules builds
all tables at once, foreign keys included.)
"""

from loopcrm.settings import *  # noqa: F403


class _NoMigrations(dict):
    def __contains__(self, item: object) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


MIGRATION_MODULES = _NoMigrations()
