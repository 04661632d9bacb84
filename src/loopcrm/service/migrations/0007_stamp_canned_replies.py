"""The configuration stamp also moves when canned replies change (the ticket page keeps each person's list of
canned replies per stamp): re-install the triggers, which now cover service_cannedreply."""

from django.db import migrations

from loopcrm.service import config_stamp


def install_triggers(apps, schema_editor):
    config_stamp.install(schema_editor.connection)


def drop_canned_reply_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    table = "service_cannedreply"
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_config ON {table}")
        else:
            for name in config_stamp.trigger_names(table):
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("service", "0006_stamp_people"),
    ]

    operations = [
        migrations.RunPython(install_triggers, drop_canned_reply_triggers, elidable=False),
    ]
