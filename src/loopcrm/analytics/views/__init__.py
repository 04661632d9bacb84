"""Analytics pages (thin: they call the registry and queries), one module per area."""
