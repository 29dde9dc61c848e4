"""Technical indicators: batch features (the `ta` library) and their streaming twins."""

from botrader.core.indicators.batch import FEATURE_COLUMNS, IndicatorParams, add_features, drop_warmup
from botrader.core.indicators.streaming import StreamingIndicators

__all__ = ["FEATURE_COLUMNS", "IndicatorParams", "StreamingIndicators", "add_features", "drop_warmup"]
