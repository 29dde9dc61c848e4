"""A point-in-time universe: which symbols a portfolio bot may trade, chosen at each refresh
time from what was known then — never from what came after.

Freqtrade's docs warn that dynamic pairlists in backtests do not reflect the historic state of
the list (survivorship and look-ahead). Here the rule is the only way to choose: at a refresh
time `t`, a symbol's score is its quote volume — the exchange's own, as Binance's klines and
dumps give it (volume × close where a candle has none, as Freqtrade's VolumePairList falls
back to when a ticker has no quoteVolume), in whole 1e-8 units so sums are exact — summed over
the candles that had *closed* by `t` within the trailing lookback — candles opening in
[t − lookback, t − interval]. The `top`
highest scores are the universe until the next refresh; ties go to the symbol that sorts first;
a symbol without a closed candle in the lookback is not eligible. A backtest and a paper run
of the same stored candles therefore pick the same lists at the same times.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate

import numpy as np
import pandas as pd

from botrader.core.errors import UserError


@dataclass(frozen=True, slots=True)
class UniverseRule:
    """`spec.universe`: {topByQuoteVolume, quote, lookback, refresh} in milliseconds here."""

    top: int
    lookback_ms: int
    refresh_ms: int
    interval_ms: int = 60_000
    quote: str = "USDT"
    candidates: frozenset[str] | None = None  # the pairs ranked (None: every pair of the data)

    def ranks(self, symbol: str) -> bool:
        return symbol.upper().endswith(self.quote) and (self.candidates is None or symbol in self.candidates)

    @property
    def hourly(self) -> UniverseRule | None:
        """The same rule counted on hourly candles, when that picks exactly what the minutes
        pick (None otherwise): a lookback and refresh of whole hours put every refresh on an
        hour and make the window [t − lookback, t − 1h] of hours hold exactly the minutes of
        [t − lookback, t − 1m], so the two scores are equal (to float64's precision of an
        hour's quote volume, as stored: a few 1e-8 USDT in a busy pair's billion) — a paper
        trader can rank hundreds of pairs from 168 hourly klines each instead of collecting
        10,080 minutes of every one."""
        if self.lookback_ms % HOUR_MS or self.refresh_ms % HOUR_MS or HOUR_MS % self.interval_ms:
            return None
        return replace(self, interval_ms=HOUR_MS)

    def __post_init__(self) -> None:
        if self.top < 1:
            raise UserError(f"bad topByQuoteVolume {self.top}: must be >= 1")
        if self.lookback_ms < self.interval_ms:
            raise UserError(f"bad lookback {self.lookback_ms} ms: shorter than one candle")
        if self.refresh_ms < self.interval_ms:
            raise UserError(f"bad refresh {self.refresh_ms} ms: shorter than one candle")


HOUR_MS = 3_600_000
DURATION_UNITS = {"m": 60_000, "h": HOUR_MS, "d": 86_400_000, "w": 7 * 86_400_000}


def duration_ms(text: str, name: str) -> int:
    """7d, 12h, 30m, 1w → milliseconds (one line naming a bad value)."""
    number, unit = text[:-1], text[-1:]
    if unit not in DURATION_UNITS or not number.isdigit() or int(number) < 1:
        raise UserError(f"bad universe {name} {text!r}: expected a duration like 30m, 12h, 7d or 1w")
    return int(number) * DURATION_UNITS[unit]


def rule_from_spec(spec: Mapping[str, object], interval_ms: int = 60_000) -> UniverseRule:
    """From a manifest's `spec.universe` (topByQuoteVolume, quote, lookback, refresh, candidates)."""
    unknown = sorted(set(spec) - {"topByQuoteVolume", "quote", "lookback", "refresh", "candidates"})
    if unknown:
        raise UserError(
            f"unknown universe field {unknown[0]!r}: expected topByQuoteVolume, quote, lookback, refresh, "
            "candidates"
        )
    candidates = spec.get("candidates")
    top = spec.get("topByQuoteVolume")
    if not isinstance(top, int) or isinstance(top, bool):
        raise UserError(f"bad universe topByQuoteVolume {top!r}: expected how many symbols (a whole number)")
    return UniverseRule(
        top=top,
        lookback_ms=duration_ms(str(spec.get("lookback", "7d")), "lookback"),
        refresh_ms=duration_ms(str(spec.get("refresh", "1d")), "refresh"),
        interval_ms=interval_ms,
        quote=str(spec.get("quote", "USDT")).upper(),
        candidates=None if candidates is None else frozenset(str(c).upper() for c in candidates),  # type: ignore[attr-defined]
    )


QUOTE_UNITS = 10**8  # a quote volume counted in 1e-8 of the quote asset (Binance's decimals)


def quote_units(frame: pd.DataFrame) -> list[int]:
    """Each candle's quote volume as a whole number of 1e-8 quote units: the exchange's own
    (`quote_volume`) where the candle has it, else volume × close. Whole numbers sum exactly, so
    a window's score is the same whichever candle its sums start from — a paper trader reading
    only the lookback and a backtest holding the whole month agree to the unit."""
    quote = frame["volume"].to_numpy(dtype=np.float64) * frame["close"].to_numpy(dtype=np.float64)
    if "quote_volume" in frame:
        given = frame["quote_volume"].to_numpy(dtype=np.float64)
        quote = np.where(np.isnan(given), quote, given)
    return [int(q) for q in np.rint(quote * QUOTE_UNITS).tolist()]  # exact at any size


class QuoteVolumes:
    """Each symbol's cumulative quote volume by candle open time, in whole 1e-8 units (Python
    integers: a month of a busy pair's would overflow 64 bits): a window's sum is two lookups,
    so a month of refreshes over many symbols costs microseconds each."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], rule: UniverseRule) -> None:
        self.rule = rule
        self.symbols = sorted(s for s in frames if rule.ranks(s))
        self.times: dict[str, np.ndarray] = {}
        self.cumulative: dict[str, list[int]] = {}
        for symbol in self.symbols:
            frame = frames[symbol]
            self.times[symbol] = frame["open_time"].to_numpy(dtype=np.int64)
            self.cumulative[symbol] = [0, *accumulate(quote_units(frame))]

    def units(self, symbol: str, at: int) -> int | None:
        """Quote volume (1e-8 units) of the candles closed by `at` within the lookback (None:
        none closed)."""
        times, rule = self.times[symbol], self.rule
        lo = int(np.searchsorted(times, at - rule.lookback_ms, side="left"))
        closed = at - rule.interval_ms  # a candle opened by then has closed by `at`
        hi = int(np.searchsorted(times, closed, side="right"))
        if hi <= lo:
            return None
        cum = self.cumulative[symbol]
        return cum[hi] - cum[lo]

    def score(self, symbol: str, at: int) -> float | None:
        """`units` in the quote asset (for people; ranking uses the whole units)."""
        units = self.units(symbol, at)
        return None if units is None else units / QUOTE_UNITS

    def pick(self, at: int) -> list[str]:
        """The universe at refresh time `at`: the top scores, ties to the symbol sorting first."""
        scored = [(s, self.units(s, at)) for s in self.symbols]
        ranked = sorted((-v, s) for s, v in scored if v is not None)
        return sorted(s for _, s in ranked[: self.rule.top])


def universe_history(
    frames: Mapping[str, pd.DataFrame], rule: UniverseRule, start: int, end: int
) -> list[tuple[int, list[str]]]:
    """(refresh time, symbols) at every multiple of the refresh period in [start, end] (the
    first at `start` rounded up to one), each chosen from what was known at that time."""
    volumes = QuoteVolumes(frames, rule)
    return [(t, volumes.pick(t)) for t in range(first_refresh(rule, start), end + 1, rule.refresh_ms)]


def first_refresh(rule: UniverseRule, start: int) -> int:
    """A run's first refresh: its first minute rounded up to a multiple of the refresh period
    (a backtest's and a paper run's of the same candles meet the same ones)."""
    return -(-start // rule.refresh_ms) * rule.refresh_ms


class Schedule:
    """The universe in force at any time: the list picked at the latest refresh at or before
    it (before the first refresh: none — nothing may be entered yet)."""

    def __init__(self, history: Sequence[tuple[int, Sequence[str]]]) -> None:
        self.history = [(t, frozenset(symbols)) for t, symbols in history]
        self._times = [t for t, _ in self.history]

    @classmethod
    def fixed(cls, symbols: Sequence[str]) -> Schedule:
        """A fixed list (`spec.symbols`): in force from the beginning of time."""
        return cls([(-(2**62), symbols)])

    def add(self, time: int, symbols: Sequence[str]) -> None:
        """The next refresh's picks (a paper run's, as time reaches it)."""
        if self._times and time <= self._times[-1]:
            raise ValueError(f"refresh {time} is not after the last, {self._times[-1]}")
        self.history.append((time, frozenset(symbols)))
        self._times.append(time)

    @property
    def last(self) -> int | None:
        """The latest refresh (None: none yet)."""
        return self._times[-1] if self._times else None

    def changes(self) -> list[tuple[int, list[str]]]:
        """The history without its repeats — the first refresh, each change and the latest
        refresh (so `last` survives): what a paper run saves, however long it runs."""
        out = []
        for i, (t, symbols) in enumerate(self.history):
            if i == 0 or symbols != self.history[i - 1][1] or i == len(self.history) - 1:
                out.append((t, sorted(symbols)))
        return out

    def at(self, time: int) -> frozenset[str]:
        i = bisect_right(self._times, time) - 1
        return self.history[i][1] if i >= 0 else frozenset()
