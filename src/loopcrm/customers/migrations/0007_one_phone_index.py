"""One btree on the customer's phone instead of two.

On PostgreSQL `db_index=True` gave the phone a plain btree (equality: dedupe, matching, the API) and a
`varchar_pattern_ops` twin (search's `LIKE '+86138%'` prefixes). The twin serves equality too (`=` is
in its operator family: EXPLAIN shows `phone = …` and `phone = ANY(…)` as index scans on it), and nothing
sorts by phone, so the plain one is dropped and the twin renamed to `customer_phone_idx`, which
Meta.indexes now declares with that operator class. One index fewer to update on every insert and to
build again after a moving-in import (0.7-1.5 s of a million-row import; docs/import-export.md).

SQLite has only the plain index, which is renamed (dropped and created) as PostgreSQL's is. Written
out, as 0004 is, so that neither database rebuilds anything it keeps.
"""

from django.db import migrations, models

TABLE = "customers_customer"
NEW = "customer_phone_idx"


def _forward(apps, schema_editor):
    name = schema_editor._create_index_name
    quote = schema_editor.quote_name
    plain = name(TABLE, ["phone"])
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(plain)}")
        schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(name(TABLE, ['phone'], suffix='_like'))}"
                              f" RENAME TO {quote(NEW)}")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(NEW)} ON {quote(TABLE)}"
                              f" ({quote('phone')} varchar_pattern_ops)")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(plain)}")
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(NEW)} ON {quote(TABLE)} ({quote('phone')})")


def _backward(apps, schema_editor):
    name = schema_editor._create_index_name
    quote = schema_editor.quote_name
    plain = name(TABLE, ["phone"])
    if schema_editor.connection.vendor == "postgresql":
        like = name(TABLE, ["phone"], suffix="_like")
        schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(NEW)} RENAME TO {quote(like)}")
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(NEW)}")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(plain)} ON {quote(TABLE)} ({quote('phone')})")


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0006_personal_data_erasure"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_forward, _backward, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="phone",
                    field=models.CharField(blank=True, max_length=20, verbose_name="phone"),
                ),
                migrations.AddIndex(
                    model_name="customer",
                    index=models.Index(fields=["phone"], name="customer_phone_idx", opclasses=["varchar_pattern_ops"]),
                ),
            ],
        ),
    ]
