"""Models: cycles."""
