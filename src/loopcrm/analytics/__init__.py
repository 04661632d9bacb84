"""Analytics: the metric registry and the pure computations the improvement engine reads.

Pure modules (statistics, SPC, process mining, journey) take plain arrays or dataclasses and know
nothing of Django; the registry pushes every KPI into SQL and is the only place a KPI is computed.
"""
