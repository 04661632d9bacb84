"""Indexes for the order list's filters.

- (channel, -placed_at): the channel filter, newest first.
- PostgreSQL only: pg_trgm GIN on UPPER(number::text), the expression Django's `icontains` emits, so
  that "part of the order number" is served by an index (three characters or more). The extension
  is created by customers/0002_search_indexes.
"""

from django.db import migrations, models

FORWARD = "CREATE INDEX IF NOT EXISTS order_number_trgm_idx ON commerce_order USING gin (UPPER(number::text) gin_trgm_ops)"
BACKWARD = "DROP INDEX IF EXISTS order_number_trgm_idx"


def _run(statement):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0001_initial'),
        ('customers', '0002_search_indexes'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['channel', '-placed_at'], name='order_channel_idx'),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
