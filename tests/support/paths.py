"""Where the repository and its bundled real data live (nothing outside the repository)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"
REAL_MONTH = DATA / "bybit_btcusdt_perp_1m_2025-05-30_2025-06-29.csv.gz"  # provenance: DATA/README.md
SAMPLE = DATA / "btcusdt-1m-2025-06-01.csv.gz"
BINANCE_MONTH = {s: DATA / f"{s}-1m-2025-02.csv.gz" for s in ("ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT")}
