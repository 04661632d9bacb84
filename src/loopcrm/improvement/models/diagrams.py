"""Models: diagrams."""
