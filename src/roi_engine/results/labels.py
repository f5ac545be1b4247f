"""The labels results use for what is not a single programme or sector."""

PORTFOLIO = "portfolio"
"""Entity label of all the scenario's programmes together."""
ALL_SECTORS = "all"
"""Sector-group label of every sector together."""
PUBLIC = "public"
"""Sector-group label of the public bodies together (``public_body = yes`` in sectors.csv)."""
