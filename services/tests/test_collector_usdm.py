"""The `binance-usdm` source against a local server that speaks USD-M's formats: a perpetual's
candles (REST under /fapi/v1, the stream on the /market host), its settled funding rates
(`/fapi/v1/fundingRate`) and its mark klines (`/fapi/v1/markPriceKlines`) land in their
tables, every one exactly once."""

import pandas as pd
import pytest

from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect
from botrader.core.db.funding_rates import FundingRateStore
from botrader.core.db.mark_prices import MarkPriceStore
from tests.support.collector_harness import assert_table_equals_served, collect_all, point_at
from tests.support.paths import REPO

AVAX = REPO / "examples" / "data" / "AVAXUSDT-1m-2025-02.csv.gz"
HOUR = 3_600_000


def funding_rows(frame: pd.DataFrame) -> list[tuple[int, str]]:
    """Every 8-hour funding time of the candles, published as Binance does (a few ms late)."""
    first, last = int(frame["open_time"].iloc[0]), int(frame["open_time"].iloc[-1])
    times = range(-(-first // (8 * HOUR)) * 8 * HOUR, last + 1, 8 * HOUR)
    rates = ["0.00010000", "-0.00003125", "0.00012345", "0.00000001"]
    return [(t + 3 + i, rates[i % len(rates)]) for i, t in enumerate(times)]


async def test_a_perpetual_s_candles_and_funding_rates(db_url, fake_binance_factory, monkeypatch) -> None:
    frame = read_candles_frame(AVAX).iloc[: 20 * 60].reset_index(drop=True)  # 20 h: three funding times
    candles = frame_to_candles(frame)
    marks = frame_to_candles(
        frame.assign(open=frame.open * 1.0003, high=frame.high * 1.0003, low=frame.low * 0.9997)
    )
    published = funding_rows(frame)
    server = await fake_binance_factory(
        {("AVAXUSDT", "1m"): candles},
        start_index=600,
        market="usdm",
        funding={"AVAXUSDT": published},
        marks={("AVAXUSDT", "1m"): marks},
        filters={"AVAXUSDT": ("0.0010", "1", "5")},
        pace=0.002,
    )
    point_at(monkeypatch, server)
    db = connect(db_url)
    rates, stored_marks = FundingRateStore(db), MarkPriceStore(db)
    settled = [(t - t % 60_000, r) for t, r in published if t <= candles[-1].open_time + 60_000]

    def perpetual_data_stored() -> bool:
        return len(rates.schedule("binance-usdm", "AVAXUSDT").times) == len(settled) and (
            stored_marks.last_open_time("binance-usdm", "AVAXUSDT", "1m") == marks[-1].open_time
        )

    result = await collect_all(
        server,
        db_url,
        source="binance-usdm",
        funding_every=0.05,
        marks_every=0.05,
        also=perpetual_data_stored,
    )

    assert_table_equals_served(db_url, server, "binance-usdm")
    assert result.written == len(candles)
    schedule = rates.schedule("binance-usdm", "AVAXUSDT")
    # funding times on the whole minute; rates exactly, in 1e-8
    assert list(schedule.times) == [t for t, _ in settled]
    assert list(schedule.rates) == [10_000, -3_125, 12_345][: len(settled)]
    assert server.funding_requests >= 2  # fetched again as funding times passed
    got = stored_marks.marks("binance-usdm", "AVAXUSDT", "1m")
    assert list(got.times) == [c.open_time for c in marks]  # every mark kline, once
    # as the server's decimal text says them (the synthetic marks were floats with more digits)
    assert list(got.highs) == pytest.approx([c.high for c in marks], rel=1e-12)
    assert list(got.lows) == pytest.approx([c.low for c in marks], rel=1e-12)
