"""Neural network modules of the two stages (imported lazily: they need torch)."""
