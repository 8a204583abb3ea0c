"""chaterp handlers layer."""
