"""Search and list indexes for customers, on PostgreSQL only (a no-op on SQLite).

- `loopcrm_bigrams(text)`: the distinct two-character substrings of lower(text), kept in the stored
  generated column `customers_customer.name_bigrams` (not a model field: the database maintains it
  on every insert and update, COPY included). Its GIN index answers two-character fragments
  (`%张伟%`), which pg_trgm cannot: they hold no trigram.
- pg_trgm GIN on name, phone and email: substrings of three or more characters (ILIKE / LIKE).
- btree on (lower(left(name, 1)), id): one-character search, the name's first character (a surname:
  张), a page in id order straight from the index, with exact statistics of first characters.
- btree (name, id) and (created_at, id): the list's sorts by name and by creation, with keyset
  pagination (`-updated_at` and `-id` already have theirs).

Queries that use them are in customers/search.py; the measurements behind them in bench/README.md.
Reversing drops the function and the indexes but keeps the pg_trgm extension, which other apps'
indexes may use.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # IMMUTABLE so that it can be indexed; lower() is immutable too. Not inlinable (aggregate), so the
    # planner matches the index expression as written.
    """
    CREATE OR REPLACE FUNCTION loopcrm_bigrams(value text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT substr(lower(value), i, 2)), '{}'::text[])
        FROM generate_series(1, char_length(value) - 1) AS i
    $$
    """,
    "SET LOCAL maintenance_work_mem = '256MB'",
    # Stored, not just indexed: a plan that walks the primary key for a common fragment then tests a
    # stored array (~0.3 µs a row) instead of calling the function (~7 µs), and ANALYZE keeps
    # element statistics on the column, so the planner's row estimates are right.
    "ALTER TABLE customers_customer ADD COLUMN name_bigrams text[] "
    "GENERATED ALWAYS AS (loopcrm_bigrams(name)) STORED",
    "CREATE INDEX customer_name_bigram_idx ON customers_customer USING gin (name_bigrams)",
    "CREATE INDEX customer_name_trgm_idx ON customers_customer USING gin (name gin_trgm_ops)",
    "CREATE INDEX customer_phone_trgm_idx ON customers_customer USING gin (phone gin_trgm_ops)",
    "CREATE INDEX customer_email_trgm_idx ON customers_customer USING gin (email gin_trgm_ops)",
    "CREATE INDEX customer_initial_idx ON customers_customer (lower(left(name, 1)), id)",
    "CREATE INDEX customer_name_sort_idx ON customers_customer (name, id)",
    "CREATE INDEX customer_created_idx ON customers_customer (created_at, id)",
]

BACKWARD = [
    "DROP INDEX IF EXISTS customer_created_idx",
    "DROP INDEX IF EXISTS customer_name_sort_idx",
    "DROP INDEX IF EXISTS customer_initial_idx",
    "DROP INDEX IF EXISTS customer_email_trgm_idx",
    "DROP INDEX IF EXISTS customer_phone_trgm_idx",
    "DROP INDEX IF EXISTS customer_name_trgm_idx",
    "DROP INDEX IF EXISTS customer_name_bigram_idx",
    "ALTER TABLE customers_customer DROP COLUMN IF EXISTS name_bigrams",
    "DROP FUNCTION IF EXISTS loopcrm_bigrams(text)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False)]
