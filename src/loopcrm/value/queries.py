"""Queries of value."""
