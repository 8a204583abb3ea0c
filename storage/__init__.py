"""chaterp storage layer."""
