"""Models of value."""
