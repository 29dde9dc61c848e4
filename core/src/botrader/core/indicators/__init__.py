"""Technical indicators: batch features (the `ta` library) and their streaming twins.

The names below load on first use, so importing `botrader.core.indicators.streaming` (every
strategy does) does not pull in pandas and ta.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "FEATURE_COLUMNS": "batch",
    "add_features": "batch",
    "drop_warmup": "batch",
    "IndicatorParams": "params",
    "DEFAULT_PARAMS": "params",
    "StreamingIndicators": "streaming",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"botrader.core.indicators.{_WHERE[name]}"), name)
