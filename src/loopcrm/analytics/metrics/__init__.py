"""How the registry's metrics become SQL: sources (scoped querysets and their dimension lookups), the
aggregation engine (one GROUP BY per source and date column, conditional aggregates), and the catalog
of definitions. `loopcrm.analytics.registry` is the public door; nothing here is imported elsewhere."""
