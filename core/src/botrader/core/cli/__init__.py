"""The `botrader` command line (Typer). Commands import other distributions lazily."""
