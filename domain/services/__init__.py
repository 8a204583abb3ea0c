"""Use cases: functions that take an open unit of work and primitives, and never commit."""
