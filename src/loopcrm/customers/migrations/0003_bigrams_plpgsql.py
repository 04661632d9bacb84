"""`loopcrm_bigrams(text)` as a PL/pgSQL loop instead of a SQL aggregate (PostgreSQL only; a no-op on SQLite).

The function computes the stored generated column `customers_customer.name_bigrams` (migration 0002)
on every insert and update, COPY and the import's `INSERT … SELECT` included. The SQL version ran
`generate_series` and `array_agg(DISTINCT …)` through the SQL-function executor for each row, and
lower-cased the name once per pair: 3.1 s over 970k names against 0.9 s for this loop, which lower-cases
once and keeps each pair the first time it occurs.

The result is the same set of pairs. Only the order differs: first occurrence here, sorted before
(array_agg DISTINCT sorts). Nothing reads the order — the column is searched with `@>` through its GIN
index (customers/search.py), and GIN and `@>` treat an array as a set — so rows stored before this
migration keep their sorted arrays: a stored generated column is not recomputed when its function is
replaced, and rewriting every customer to reorder equal sets would cost a full table rewrite.
"""

from django.db import migrations

LOOP = """
CREATE OR REPLACE FUNCTION loopcrm_bigrams(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    lowered text := lower(value);
    pairs text[] := '{}';
    pair text;
BEGIN
    FOR i IN 1 .. char_length(value) - 1 LOOP
        pair := substr(lowered, i, 2);
        IF pair <> ALL (pairs) THEN
            pairs := array_append(pairs, pair);
        END IF;
    END LOOP;
    RETURN pairs;
END
$$
"""

AGGREGATE = """
CREATE OR REPLACE FUNCTION loopcrm_bigrams(value text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(lower(value), i, 2)), '{}'::text[])
    FROM generate_series(1, char_length(value) - 1) AS i
$$
"""


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_search_indexes")]
    operations = [migrations.RunPython(_run(LOOP), _run(AGGREGATE), elidable=False)]
