"""Request and response schemas per direction, one module per area."""
