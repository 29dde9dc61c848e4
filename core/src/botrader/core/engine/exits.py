"""Per-position exits the engine runs for a strategy: stop-loss, take-profit, trailing stop
(with an activation offset) and time stop.

Levels are relative to the position's average entry price (fees excluded) and computed in
integer ticks with the rounding against the trader: a stop rounds down (it triggers later),
a target rounds up. Evaluation is intrabar from the candle's low and high, conservatively:

- a stop (the stop-loss or the trailing level, whichever is higher) triggers when the low
  reaches it and fills at the stop — or at the open, when the candle opened through it;
- the take-profit triggers when the high reaches it and fills at the target (never better);
- when one candle touches both, the stop wins: the candle's path is unknown, so the worse
  outcome is assumed;
- the trailing stop follows the highest high of *earlier* candles (this candle's high may
  have come after its low), from when the price first reached entry × (1 + activation);
- the time stop closes the position at the close of the `time_stop`-th candle after entry
  (through the normal order path, so the fill model applies).

Exits close the whole position at market (slippage and fee as any order), are not capped by
volume participation, and run even when the bot is paused or a breaker is open: they only
ever reduce risk.

A short (negative lots) mirrors all of it: the stop sits above the entry (rounded up) and
triggers when the high reaches it, filling at the stop or the open if it opened through it;
the target sits below (rounded down) and triggers on the low; the trailing stop follows the
lowest low of earlier candles, armed once the price first fell to entry × (1 − activation).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from botrader.core.engine.units import PPM
from botrader.core.errors import UserError

REASONS = (
    "signal", "stop_loss", "take_profit", "trailing_stop", "time_stop", "emergency_stop", "liquidation",
    "liquidation_guard", "universe_exit",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Exits:
    """Fractions of the entry price (0.02 = 2%); `time_stop` in candles. None: off."""

    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    trailing_activation: float = 0.0
    time_stop: int | None = None

    def __post_init__(self) -> None:
        for name in ("stop_loss", "trailing_stop"):
            value = getattr(self, name)
            if value is not None and not 0 < value < 1:
                raise UserError(f"bad {name} {value!r}: expected a fraction in (0, 1)")
        if self.take_profit is not None and not self.take_profit > 0:
            raise UserError(f"bad take_profit {self.take_profit!r}: must be > 0")
        if not self.trailing_activation >= 0:
            raise UserError(f"bad trailing_activation {self.trailing_activation!r}: must be >= 0")
        if self.time_stop is not None and (isinstance(self.time_stop, bool) or self.time_stop < 1):
            raise UserError(f"bad time_stop {self.time_stop!r}: must be a whole number of candles >= 1")

    @property
    def any(self) -> bool:
        return any(
            getattr(self, f) is not None for f in ("stop_loss", "take_profit", "trailing_stop", "time_stop")
        )

    def merged(self, overrides: dict[str, Any]) -> Exits:
        """These exits with some fields replaced (a manifest's or the command line's)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise UserError(f"unknown exit(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return replace(self, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in asdict(self).items()
            if v is not None and not (k == "trailing_activation" and not self.trailing_stop)
        }


def _ppm(fraction: float) -> int:
    return round(fraction * PPM)


def stop_level(entry_notional: int, lots: int, fraction_ppm: int) -> int:
    """floor(average entry × (1 − fraction)) in ticks."""
    return entry_notional * (PPM - fraction_ppm) // (lots * PPM)


def target_level(entry_notional: int, lots: int, fraction_ppm: int) -> int:
    """ceil(average entry × (1 + fraction)) in ticks."""
    return -(-entry_notional * (PPM + fraction_ppm) // (lots * PPM))


def trail_level(peak_ticks: int, fraction_ppm: int) -> int:
    """floor(peak × (1 − fraction)) in ticks."""
    return peak_ticks * (PPM - fraction_ppm) // PPM


def short_stop_level(entry_notional: int, lots: int, fraction_ppm: int) -> int:
    """A short's stop: ceil(average entry × (1 + fraction)) in ticks (it triggers later)."""
    return -(-entry_notional * (PPM + fraction_ppm) // (lots * PPM))


def short_target_level(entry_notional: int, lots: int, fraction_ppm: int) -> int:
    """A short's target: floor(average entry × (1 − fraction)) in ticks (never better)."""
    return entry_notional * (PPM - fraction_ppm) // (lots * PPM)


def short_trail_level(trough_ticks: int, fraction_ppm: int) -> int:
    """ceil(trough × (1 + fraction)) in ticks."""
    return -(-trough_ticks * (PPM + fraction_ppm) // PPM)


class ExitTracker:
    """The open position's exit state: candles held, the running peak and whether the
    trailing stop is active. Part of the engine's snapshot, so a restart resumes it."""

    def __init__(self, exits: Exits) -> None:
        self.exits = exits
        self.sl = _ppm(exits.stop_loss) if exits.stop_loss is not None else None
        self.tp = _ppm(exits.take_profit) if exits.take_profit is not None else None
        self.trail = _ppm(exits.trailing_stop) if exits.trailing_stop is not None else None
        self.activation = _ppm(exits.trailing_activation)
        self.held = 0  # closes seen since entry
        self.peak = 0  # best price (ticks) of the candles closed since entry: a long's highest
        # high, a short's lowest low
        self.active = False  # trailing stop armed

    def reset(self, entry_price: int) -> None:
        """A new position, entered at `entry_price` (ticks): its peak starts there."""
        self.held, self.peak, self.active = 0, entry_price, False

    def intrabar(
        self, entry_notional: int, lots: int, open_: int, high: int, low: int
    ) -> tuple[str, int] | None:
        """(reason, trigger price in ticks) when a stop or the target is hit in this candle;
        `lots` signed (a short's exits are mirrored)."""
        if lots < 0:
            return self._short_intrabar(entry_notional, -lots, open_, high, low)
        stop, reason = None, ""
        if self.sl is not None:
            stop, reason = stop_level(entry_notional, lots, self.sl), "stop_loss"
        if self.trail is not None and self.active:
            level = trail_level(self.peak, self.trail)
            if stop is None or level > stop:
                stop, reason = level, "trailing_stop"
        if stop is not None and low <= stop:
            return reason, min(open_, stop)
        if self.tp is not None:
            target = target_level(entry_notional, lots, self.tp)
            if high >= target:
                return "take_profit", target
        return None

    def _short_intrabar(
        self, entry_notional: int, lots: int, open_: int, high: int, low: int
    ) -> tuple[str, int] | None:
        stop, reason = None, ""
        if self.sl is not None:
            stop, reason = short_stop_level(entry_notional, lots, self.sl), "stop_loss"
        if self.trail is not None and self.active:
            level = short_trail_level(self.peak, self.trail)
            if stop is None or level < stop:
                stop, reason = level, "trailing_stop"
        if stop is not None and high >= stop:
            return reason, max(open_, stop)
        if self.tp is not None:
            target = short_target_level(entry_notional, lots, self.tp)
            if target > 0 and low <= target:
                return "take_profit", target
        return None

    def after_close(self, entry_notional: int, lots: int, high: int, low: int = 0) -> bool:
        """Count the candle, move the best price and arm the trailing stop; True when the time
        stop says to close the position now. `lots` signed; `low` is read for a short."""
        self.held += 1
        if lots < 0:
            self.peak = min(self.peak, low)
            if self.trail is not None and not self.active:
                self.active = self.peak <= short_target_level(entry_notional, -lots, self.activation)
        else:
            self.peak = max(self.peak, high)
            if self.trail is not None and not self.active:
                self.active = self.peak >= target_level(entry_notional, lots, self.activation)
        return self.exits.time_stop is not None and self.held >= self.exits.time_stop

    def state(self) -> dict[str, Any]:
        return {"held": self.held, "peak": self.peak, "active": self.active}

    def load(self, state: dict[str, Any]) -> None:
        self.held, self.peak, self.active = state["held"], state["peak"], state["active"]
