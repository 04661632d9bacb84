"""Search indexes for customers (PostgreSQL: character-bigram GIN and pg_trgm). Filled by the search work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = []
