"""Training the two models from simfile packs."""
