"""Reads of the improvement engine that are more than a filter, one module per area."""
