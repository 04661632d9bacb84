"""Models: charts."""
