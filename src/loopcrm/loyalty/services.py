"""Services of loyalty."""
