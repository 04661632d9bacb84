"""Loyalty programmes: membership tiers and the append-only points ledger."""
