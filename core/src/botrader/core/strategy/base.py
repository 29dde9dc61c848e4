"""The strategy API: one class carries everything about itself.

    class SmaCross(Strategy):
        \"\"\"Buy when the fast SMA is above the slow one, sell when below.\"\"\"

        fast = Param(10, ge=2, search=(5, 20))
        slow = Param(30, ge=3, search=(20, 60))

        def validate(self) -> None:
            if self.fast >= self.slow:
                raise ValueError("fast must be shorter than slow")

        def indicators(self) -> dict[str, Indicator]:
            return {"fast": SMA(self.fast), "slow": SMA(self.slow)}

        def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | Signal | None:
            if ind.fast is None or ind.slow is None:
                return None
            if account.flat and ind.fast > ind.slow:
                return self.buy()
            if account.long and ind.fast < ind.slow:
                return self.sell()
            return None

What the class declares, everyone derives: its name (`name`, default the class name in
snake_case), its description (the docstring), its parameters with types, defaults, bounds and
search space (`Param`), its warm-up (`warmup`, default the slowest indicator's settle
length), its exits (`exits`), its indicators. The engine calls `decide` at every closed
candle — indicators update, then `on_candle` — and `observe` for warm-up candles (indicators
only). The action is a target in [-1, 1]: +1 buys with all cash, −1 sells the whole
position, fractions between, None does nothing. A strategy that declares `can_short = True`
(perpetuals: `--market usdm-perp`) states targets instead: +1 the full long, −1 the full
short, 0 flat, None hold — `buy()`, `sell()` and `close()` say them (`engine.perp_sizing`);
`account.short`, `side`, `leverage`, `margin` and `liquidation_price` say where it stands.
`state()`/`load()` cover the indicators and every plain attribute (numbers, text, lists and
dicts of them), so a restart resumes exactly; override them for anything else.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from botrader.core.engine.exits import Exits
from botrader.core.engine.view import Account, Bar
from botrader.core.errors import UserError
from botrader.core.strategy.indicators import Batch, Indicator
from botrader.core.strategy.params import Param

PLAIN = (type(None), bool, int, float, str)


@dataclass(frozen=True, slots=True)
class Signal:
    """An action with the reasons for it (shown with the order in the API and dashboard)."""

    action: float
    why: dict[str, Any] = field(default_factory=dict)


class Values:
    """The latest value of each indicator a strategy asked for, by the name it gave."""

    def __repr__(self) -> str:
        return "Values(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plain(value: Any) -> bool:
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


class Strategy:
    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    exits: Exits = Exits()
    warmup: int | None = None  # None: the largest `settle` of the indicators
    # may it hold a short (perpetuals)? Without it, a sell never goes below flat, on any market
    can_short: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            found.update({k: v for k, v in vars(klass).items() if isinstance(v, Param)})
        for key, param in found.items():
            if not param.name:
                object.__setattr__(param, "name", key)
            param.check(cls.__name__, param.default)
        cls.params = found
        if "name" not in vars(cls) or not cls.name:
            cls.name = _snake(cls.__name__)
        if "description" not in vars(cls):
            cls.description = inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise UserError(f"unknown parameter(s) for {self.name}: {', '.join(unknown)} (known: {known})")
        for key, param in self.params.items():
            setattr(self, key, param.coerce(self.name, params[key]) if key in params else param.default)
        try:
            self.validate()
        except ValueError as exc:
            raise UserError(f"bad parameters for {self.name}: {exc}") from None
        self._indicators: dict[str, Indicator] = dict(self.indicators())
        items = self._indicators.items()
        self._fast = [(key, *ind.fast) for key, ind in items if ind.fast is not None]
        self._steps = [(key, ind.step) for key, ind in items if ind.fast is None]
        self._values = Values()
        for key in self._indicators:
            setattr(self._values, key, None)
        self._why: dict[str, Any] = {}
        self.setup()
        self.decide = self._compile()  # type: ignore[method-assign]

    # -- what a strategy writes -----------------------------------------------------------
    def validate(self) -> None:
        """Check the parameters together (each is already within its bounds): raise ValueError."""

    def indicators(self) -> dict[str, Indicator]:
        """The indicators to update before each decision, by name (`ind.<name>`)."""
        return {}

    def setup(self) -> None:
        """Initialise your own state; plain attributes are saved and restored with the bot."""

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | Signal | None:
        raise NotImplementedError(f"{type(self).__name__}.on_candle")

    def explain(self) -> dict[str, Any]:
        """Why the last order was placed: the indicator values and the signal's reasons."""
        out: dict[str, Any] = {}
        for key, value in vars(self._values).items():
            out[key] = value._asdict() if hasattr(value, "_asdict") else value
        return {**out, **self._why}

    # -- helpers ----------------------------------------------------------------------------
    def buy(self, fraction: float = 1.0, **why: Any) -> Signal:
        """Spend `fraction` of the cash (risk limits may cap it)."""
        return Signal(fraction, why)

    def sell(self, fraction: float = 1.0, **why: Any) -> Signal:
        """Sell `fraction` of the position."""
        return Signal(-fraction, why)

    def close(self, **why: Any) -> Signal:
        """Back to flat: the whole position sold (or, for a short, bought back)."""
        return Signal(0.0 if self.can_short else -1.0, why)

    def parameters(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.params}

    def warmup_length(self) -> int:
        """Candles to show the strategy before it trades (the live trader loads this many)."""
        if self.warmup is not None:
            return int(self.warmup)
        return max((i.settle for i in self._indicators.values()), default=0)

    # -- what the engine calls --------------------------------------------------------------
    def decide(self, bar: Bar, account: Account) -> float | None:
        """Update the indicators, then ask `on_candle` (replaced per instance by `_compile`)."""
        return self._compile()(bar, account)

    def _compile(self) -> Any:
        """`decide` as a closure over this instance's indicators: the engine calls it on every
        candle, and a closure with its reads bound costs a fraction of the generic loop."""
        values, on_candle, coerce = self._values, self.on_candle, self._coerce
        slots, fast, steps = values.__dict__, self._fast, self._steps
        if len(fast) == 1 and not steps:
            ((key, read, update),) = fast

            def decide(bar: Bar, account: Account) -> float | None:
                slots[key] = update(read(bar))
                out = on_candle(bar, values, account)
                return out if out is None or out.__class__ is float else coerce(out)

            return decide

        def decide_all(bar: Bar, account: Account) -> float | None:
            for key, read, update in fast:
                slots[key] = update(read(bar))
            for key, step in steps:
                slots[key] = step(bar)
            out = on_candle(bar, values, account)
            return out if out is None or out.__class__ is float else coerce(out)

        return decide_all

    def _coerce(self, out: Any) -> float:
        if isinstance(out, Signal):
            self._why = out.why
            return float(out.action)
        if isinstance(out, int | float) and not isinstance(out, bool):
            return float(out)
        raise TypeError(
            f"{self.name}.on_candle returned {out!r}: expected a number in [-1, 1], a Signal or None"
        )

    def observe(self, bar: Bar) -> None:
        """A warm-up candle: indicators only."""
        slots = self._values.__dict__
        for key, read, update in self._fast:
            slots[key] = update(read(bar))
        for key, step in self._steps:
            slots[key] = step(bar)

    def prepare(self, frame: Any) -> None:
        """A backtest's candles, before the first one is fed (vectorised indicators run here)."""
        for indicator in self._indicators.values():
            if isinstance(indicator, Batch):
                indicator.prepare(frame)

    def state(self) -> dict[str, Any]:
        attrs = {
            k: v
            for k, v in vars(self).items()
            if not k.startswith("_") and k not in self.params and _plain(v)
        }
        return {
            "indicators": {k: i.state() for k, i in self._indicators.items()},
            "values": {k: getattr(self._values, k) for k, *_ in self._fast},  # fast ones keep no .value
            "attrs": attrs,
            "why": self._why if _plain(self._why) else {},
        }

    def load(self, state: dict[str, Any]) -> None:
        fast = state.get("values", {})
        for key, indicator in self._indicators.items():
            indicator.load(state["indicators"][key])
            setattr(self._values, key, fast[key] if key in fast else indicator.value)
        for key, value in state["attrs"].items():
            setattr(self, key, value)
        self._why = dict(state.get("why", {}))

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """JSON-able: what `/strategies`, `botrader strategy list` and the dashboard show."""
        return {
            "name": cls.name,
            "aliases": list(cls.aliases),
            "description": cls.description,
            "params": {k: p.describe() for k, p in cls.params.items()},
            "exits": cls.exits.to_dict() if isinstance(cls.exits, Exits) else {},
        }
