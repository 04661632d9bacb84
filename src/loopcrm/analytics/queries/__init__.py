"""Analytics reads from the database (event logs, journey facts), one module per area."""
