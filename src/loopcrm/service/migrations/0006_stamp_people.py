"""The configuration stamp also moves when people or queue membership change (the workbench caches its
agent and queue selects per stamp): re-install the triggers, which now cover accounts_user and
service_queue_members."""

from django.db import migrations

from loopcrm.service import config_stamp


def install_triggers(apps, schema_editor):
    config_stamp.install(schema_editor.connection)


def drop_people_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        for table in ("accounts_user", "service_queue_members"):
            names = [table + "_config"] if vendor == "postgresql" else config_stamp.trigger_names(table)
            for name in names:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if vendor == "postgresql"
                               else f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("service", "0005_warning_label"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install_triggers, drop_people_triggers, elidable=False),
    ]
