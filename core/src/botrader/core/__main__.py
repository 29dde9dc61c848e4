"""`python -m botrader.core …` is the `botrader` command."""

from botrader.core.cli.main import run

run()
