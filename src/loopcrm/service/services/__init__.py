"""Every write with a business rule, one module per area (tickets, sla, routing, processes, mail)."""
