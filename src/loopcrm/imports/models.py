"""Models of imports."""
