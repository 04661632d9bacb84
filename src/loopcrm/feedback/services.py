"""Services of feedback."""
