"""roi-engine."""
