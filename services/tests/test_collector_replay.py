"""A replay played faster than the database takes it (speed 0) is written in full when it ends:
the collector's shutdown grace bounds a stop, never the end of a replay. (`botrader up
--exit-after-replay` of the four-pair month once stored 121,210 of its 161,280 candles on a
busy machine: the backlog past the grace was dropped.)"""

from __future__ import annotations

from pathlib import Path

from botrader.core.candles import make_key
from botrader.core.data.files import read_candles_frame
from botrader.core.db import connect
from botrader.core.db.candles import CandleStore
from botrader.services.collector import service
from botrader.services.collector.service import CollectorConfig, run_collector
from tests.support.paths import BINANCE_MONTH


async def test_a_replay_that_outruns_the_writer_is_written_in_full(
    sqlite_url: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(service, "SHUTDOWN_GRACE", 0.0)  # no time at all to catch up on a stop
    for symbol, path in BINANCE_MONTH.items():
        read_candles_frame(path).iloc[:1440].to_csv(tmp_path / f"{symbol}-1m-2025-02.csv", index=False)
    symbols = sorted(BINANCE_MONTH)
    cfg = CollectorConfig(
        symbols=symbols, source="replay", db_url=sqlite_url, replay_file=tmp_path, speed=0, port=None
    )
    result = await run_collector(cfg)
    assert result.written == 4 * 1440
    store = CandleStore(connect(sqlite_url))
    assert [len(store.load(make_key("replay", s, "1m"))) for s in symbols] == [1440] * 4
    # each with the file's own quote volume, which a universe ranks by as a backtest of it does
    stored = store.load_frame(make_key("replay", "AVAXUSDT", "1m"))
    given = read_candles_frame(tmp_path / "AVAXUSDT-1m-2025-02.csv")
    assert (
        stored["quote_volume"].tolist() == given["quote_volume"].tolist()
        and given["quote_volume"].notna().all()
    )
