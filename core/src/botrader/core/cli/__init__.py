"""The `botrader` command line (Typer): core's own commands and the collector of every
installed distribution's commands (`botrader.core.cli.main`)."""
