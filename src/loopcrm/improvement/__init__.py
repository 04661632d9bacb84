"""Improvement: control points and control charts, cause and effect, the quality logic diagram, PDCA cycles."""
