"""Fixed test keys and a builder for the tampered-credential corpus (``tampered.json``)."""
