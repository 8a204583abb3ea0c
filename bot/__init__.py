"""chaterp bot layer."""
