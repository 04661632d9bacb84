"""Bulk import and export: jobs with mapping, validation report, dedupe, checkpoints and undo."""
