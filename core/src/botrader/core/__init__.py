"""Botrader core: what every component shares and nothing that needs a server."""

__version__ = "0.1.0"
