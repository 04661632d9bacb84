"""The ticket desk: tickets and complaints, SLA clocks on business calendars, routing, standard processes."""
