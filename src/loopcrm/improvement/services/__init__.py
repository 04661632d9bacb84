"""Every write of the improvement engine that has a business rule, one module per area."""
