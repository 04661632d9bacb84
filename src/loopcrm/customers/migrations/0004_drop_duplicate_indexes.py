"""Drop the customer indexes that another index already covers; every one is work on each insert and
on the import's index rebuild (measurements in docs/import-export.md).

- owner and department: their foreign-key btrees duplicate the leading column of `customer_owner_idx`
  (owner, -id) and `customer_dept_idx` (department, -id), which serve the same lookups (and the
  `ON DELETE` checks of a user or department).
- email and external id: PostgreSQL had two btrees each, the plain one and a `varchar_pattern_ops`
  twin for `LIKE 'prefix%'`, which nothing asks of them (search matches emails with ILIKE through the
  trigram index; dedupe and the API compare equal). The plain one stays, renamed to the name the model
  now gives it in Meta.indexes. The phone keeps both: search matches `+86 138…` as a prefix.

The database side is written out instead of Django's AlterField + AddIndex: on SQLite those remake the
whole customer table four times, and on PostgreSQL they would drop and rebuild the plain btrees.
"""

from django.conf import settings
from django.db import migrations, models

TABLE = "customers_customer"
DROPPED = ("department_id", "owner_id")  # their single-column indexes go
RENAMED = {"email": "customer_email_idx", "external_id": "customer_external_id_idx"}  # their _like twin goes


def _forward(apps, schema_editor):
    name = schema_editor._create_index_name
    quote = schema_editor.quote_name
    postgres = schema_editor.connection.vendor == "postgresql"
    for column in DROPPED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name(TABLE, [column]))}")
    for column, new in RENAMED.items():
        old = name(TABLE, [column])
        if postgres:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name(TABLE, [column], suffix='_like'))}")
            schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(old)} RENAME TO {quote(new)}")
        else:  # SQLite cannot rename an index
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(old)}")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(new)} ON {quote(TABLE)} ({quote(column)})")


def _backward(apps, schema_editor):
    name = schema_editor._create_index_name
    quote = schema_editor.quote_name
    postgres = schema_editor.connection.vendor == "postgresql"
    for column, new in RENAMED.items():
        old = name(TABLE, [column])
        if postgres:
            schema_editor.execute(f"ALTER INDEX IF EXISTS {quote(new)} RENAME TO {quote(old)}")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name(TABLE, [column], suffix='_like'))}"
                                  f" ON {quote(TABLE)} ({quote(column)} varchar_pattern_ops)")
        else:
            schema_editor.execute(f"DROP INDEX IF EXISTS {quote(new)}")
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(old)} ON {quote(TABLE)} ({quote(column)})")
    for column in DROPPED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {quote(name(TABLE, [column]))} ON {quote(TABLE)}"
                              f" ({quote(column)})")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        ("customers", "0003_bigrams_plpgsql"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_forward, _backward, elidable=False)],
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="department",
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.PROTECT,
                                            related_name="customers", to="accounts.department",
                                            verbose_name="department"),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="email",
                    field=models.CharField(blank=True, max_length=254, verbose_name="email"),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="external_id",
                    field=models.CharField(blank=True, max_length=100, verbose_name="external id"),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="owner",
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.SET_NULL,
                                            related_name="owned_customers", to=settings.AUTH_USER_MODEL,
                                            verbose_name="owner"),
                ),
                migrations.AddIndex(
                    model_name="customer",
                    index=models.Index(fields=["email"], name="customer_email_idx"),
                ),
                migrations.AddIndex(
                    model_name="customer",
                    index=models.Index(fields=["external_id"], name="customer_external_id_idx"),
                ),
            ],
        ),
    ]
