"""Pieces every long-running service shares: probes, metrics endpoint, shutdown."""
