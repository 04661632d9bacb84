"""Customer value from purchase history: RFM, CLV and P(alive), tiers, lifecycle, segments, recommendations."""
