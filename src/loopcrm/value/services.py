"""Services of value."""
