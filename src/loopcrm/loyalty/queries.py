"""Queries of loyalty."""
