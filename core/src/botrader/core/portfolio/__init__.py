"""Portfolio bots: many symbols, one wallet (issue #27) — starting with the point-in-time
universe."""
