"""Benchmarks for ddc_sm (not shipped with the package); run from the repository root."""
