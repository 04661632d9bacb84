"""Database triggers that replace the configuration stamp's token after every write to a configuration table.

Used by migrations 0002, 0006 and 0007 (and by `install(connection)` for a database built without migrations, such
as the benchmarks'). PostgreSQL: one statement-level trigger per table and one plpgsql function; SQLite: row-level
triggers for insert, update and delete. Both upsert row 1 of service_configstamp, so a flushed table
gets its row back. Re-running `install` is harmless (CREATE OR REPLACE / IF NOT EXISTS).

Note for later migrations: on SQLite, Django rebuilds a table to alter it, which drops its triggers;
call `install` again after such an operation (tests/service/test_config_cache.py catches a table left
without its trigger).
"""

from __future__ import annotations

STAMP_TABLE = "service_configstamp"

# table -> the columns whose update counts (None: any column). A queue's round-robin pointer moves on every
# ticket and is not configuration. People and queue membership count because the workbench's selects (agents,
# queues) are cached per stamp; a sign-in (last_login) or an agent's availability does not. Canned replies count
# because the ticket page keeps each person's list per stamp.
TABLES: dict[str, tuple[str, ...] | None] = {
    "service_ticketcategory": None,
    "service_routingrule": None,
    "service_queue": ("name", "code", "department_id", "strategy", "is_active"),
    "service_slapolicy": None,
    "service_businesscalendar": None,
    "service_calendarday": None,
    "service_processdefinition": None,
    "service_processversion": None,
    "service_processstep": None,
    "accounts_department": None,
    "accounts_user": ("username", "first_name", "last_name", "display_name", "is_active", "role", "department_id"),
    "service_queue_members": None,
    "service_cannedreply": None,
}

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION service_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO service_configstamp (id, token) VALUES (1, gen_random_uuid()::text)
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token;
    RETURN NULL;
END
$$
"""

_SQLITE_UPSERT = ("INSERT INTO service_configstamp (id, token) VALUES (1, lower(hex(randomblob(16)))) "
                  "ON CONFLICT (id) DO UPDATE SET token = excluded.token;")


def trigger_names(table: str) -> list[str]:
    return [f"{table}_config_{event}" for event in ("ins", "upd", "del")]


def statements(vendor: str) -> list[str]:
    """The SQL that installs every trigger on `vendor` ("postgresql" or "sqlite")."""
    if vendor == "postgresql":
        sql = [_PG_FUNCTION]
        for table, columns in TABLES.items():
            update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
            sql.append(f"CREATE OR REPLACE TRIGGER {table}_config AFTER INSERT OR {update} OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION service_config_changed()")
        return sql
    if vendor == "sqlite":
        sql = []
        for table, columns in TABLES.items():
            insert, update, delete = trigger_names(table)
            of = f" OF {', '.join(columns)}" if columns else ""
            sql += [f"CREATE TRIGGER IF NOT EXISTS {insert} AFTER INSERT ON {table} BEGIN {_SQLITE_UPSERT} END",
                    f"CREATE TRIGGER IF NOT EXISTS {update} AFTER UPDATE{of} ON {table} BEGIN {_SQLITE_UPSERT} END",
                    f"CREATE TRIGGER IF NOT EXISTS {delete} AFTER DELETE ON {table} BEGIN {_SQLITE_UPSERT} END"]
        return sql
    raise NotImplementedError(f"No configuration triggers for {vendor}.")


def drop_statements(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [*(f"DROP TRIGGER IF EXISTS {table}_config ON {table}" for table in TABLES),
                "DROP FUNCTION IF EXISTS service_config_changed()"]
    return [f"DROP TRIGGER IF EXISTS {name}" for table in TABLES for name in trigger_names(table)]


def install(connection) -> None:
    """Install (or re-install) the triggers on `connection`'s database and make sure row 1 exists."""
    with connection.cursor() as cursor:
        for sql in statements(connection.vendor):
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute("INSERT INTO service_configstamp (id, token) VALUES (1, gen_random_uuid()::text) "
                           "ON CONFLICT (id) DO NOTHING")
        else:
            cursor.execute("INSERT OR IGNORE INTO service_configstamp (id, token) "
                           "VALUES (1, lower(hex(randomblob(16))))")


def installed(connection) -> set[str]:
    """The configuration tables that have their trigger(s) on `connection`'s database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT event_object_table FROM information_schema.triggers "
                           "WHERE trigger_name LIKE %s", ["%\\_config"])
            return {row[0] for row in cursor.fetchall()} & set(TABLES)
        cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[1] for row in cursor.fetchall()}
    return {table for table in TABLES if set(trigger_names(table)) <= names}
