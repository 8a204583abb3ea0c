"""chaterp domain layer."""
