"""One conversation per module; each exports FLOW (a Flow) and/or ACTIONS (card actions)."""
