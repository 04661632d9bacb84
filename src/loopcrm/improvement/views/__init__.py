"""Improvement pages (thin: they call services and queries), one module per area."""
