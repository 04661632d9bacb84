"""Indexes for the interaction list's filters: touchpoint and journey stage, newest first."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='interaction',
            index=models.Index(fields=['touchpoint', '-occurred_at'], name='interaction_touchpoint_idx'),
        ),
        migrations.AddIndex(
            model_name='interaction',
            index=models.Index(fields=['journey_stage', '-occurred_at'], name='interaction_stage_idx'),
        ),
    ]
