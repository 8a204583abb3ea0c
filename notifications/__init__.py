"""chaterp notifications layer."""
