"""Where the repository and the shared real data live."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(
    os.environ.get("BOTRADER_SHARED_DATA")
    or REPO.parent / "shared" / "data" / "bybit_btcusdt_perp_1m_2025-05-30_2025-06-29.csv.gz"
)
SAMPLE = REPO / "examples" / "data" / "btcusdt-1m-2025-06-01.csv.gz"
