"""Reads that are more than a filter, one module per area; tickets_for is the read door."""
