"""The messages the system sends on its own, one module per subject; each registers renderers."""
