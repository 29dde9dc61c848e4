"""`botrader strategy new NAME`: a commented strategy file to start from (it passes
`botrader strategy check` as written)."""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from botrader.core.errors import UserError

MONTH = "examples/data/bybit_btcusdt_perp_1m_2025-05-30_2025-06-29.csv.gz"
TEMPLATE = '''"""{title}: a template written by `botrader strategy new`. Change it, then run

    botrader strategy check {file}:{cls} --data {month}
    botrader backtest --strategy {file}:{cls} --data {month} [--param fast=8] [--fill next_open]
"""

from __future__ import annotations

from botrader.core.strategy import EMA, RSI, Account, Candle, Exits, Param, Signal, Strategy, Values


class {cls}(Strategy):
    """Trend following with a momentum filter: buy when the fast EMA crosses above the slow one
    while RSI is not overbought; sell when it crosses back below. (This docstring is the
    strategy's description in the API and on the dashboard.)"""

    # Parameters: type from the default, bounds checked before any candle is read, `search`
    # is what walk-forward grids and optimisers explore.
    fast = Param(12, ge=2, le=500, search=(6, 24), help="fast EMA span")
    slow = Param(48, ge=3, le=2000, search=(24, 96), help="slow EMA span")
    max_rsi = Param(70.0, ge=0, le=100, help="no buys above this RSI")

    # Exits the engine runs for every position (a manifest's spec.strategy.exits overrides
    # them): fractions of the entry price, time_stop in candles.
    exits = Exits(stop_loss=0.03, trailing_stop=0.02, trailing_activation=0.01)

    # warmup = 300  # candles before trading; default: what the slowest indicator needs

    def validate(self) -> None:
        """Rules between parameters (each is already within its bounds)."""
        if self.fast >= self.slow:
            raise ValueError(f"fast ({{self.fast}}) must be shorter than slow ({{self.slow}})")

    def indicators(self) -> dict:
        """Streaming indicators, updated before each decision: `ind.fast`, `ind.slow`, `ind.rsi`."""
        return {{"fast": EMA(self.fast), "slow": EMA(self.slow), "rsi": RSI(14)}}

    def setup(self) -> None:
        """Your own state: plain attributes are saved and restored with the bot (exact resume)."""
        self.was_above: bool | None = None

    def on_candle(self, candle: Candle, ind: Values, account: Account) -> float | Signal | None:
        """Each closed candle: +1 buys with all cash, -1 sells everything, None does nothing."""
        if ind.fast is None or ind.slow is None or ind.rsi is None:
            return None  # still warming up
        above = ind.fast > ind.slow
        crossed = self.was_above is not None and above != self.was_above
        self.was_above = above
        if crossed and above and account.flat and ind.rsi < self.max_rsi:
            return self.buy(1.0, crossed="up", rsi=round(ind.rsi, 1))
        if crossed and not above and account.long:
            return self.sell(1.0, crossed="down")
        return None
'''


def class_name(name: str) -> str:
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


def write_template(name: str, folder: Path = Path("."), *, force: bool = False) -> Path:
    stem = re.sub(r"[^0-9a-z]+", "_", re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()).strip("_")
    cls = class_name(name)
    if not stem or not cls.isidentifier() or keyword.iskeyword(stem) or stem[0].isdigit():
        raise UserError(f"bad strategy name {name!r}: use letters, digits and underscores, e.g. my_strategy")
    path = folder / f"{stem}.py"
    if path.exists() and not force:
        raise UserError(f"{path} exists; choose another name or pass --force")
    path.write_text(TEMPLATE.format(title=cls, file=path.as_posix(), cls=cls, month=MONTH))
    return path
