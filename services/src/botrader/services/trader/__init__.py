"""Paper trader: consumes closed candles from the candles table and trades them on paper."""
