"""Services of imports."""
