"""The paper trader against the collector's table on real databases: its trades equal the
backtest's on the same candles, restarts and crashes change nothing, controls are audited."""

import asyncio
from pathlib import Path

import pandas as pd
import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.bot_engine import engine_config, strategy_for
from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import parse_trading_bot
from botrader.services.collector import CollectorConfig, run_collector
from botrader.services.trader.service import TraderSettings, run_trader
from botrader.services.trader.trader import PaperTrader
from botrader.services.trader.waker import Waker

CANDLES = 3000


def bot_doc(path: Path, **spec: object) -> dict:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "btc-test"},
        "spec": {
            "symbol": "BTCUSDT",
            "interval": "1m",
            "source": "replay",
            "replay": {"path": str(path), "speed": 0},
            "budget": 10000,
            "strategy": {"type": "rsi"},
            "risk": {"maxDrawdownFraction": 0.5},
            **spec,
        },
    }


@pytest.fixture
def candle_file(real_candles: pd.DataFrame, tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = real_candles.iloc[:CANDLES].reset_index(drop=True)
    path = tmp_path / "candles.parquet"
    frame.to_parquet(path)
    return path, frame


def expected_fills(bot, frame: pd.DataFrame, warmup: int = 0) -> list[tuple]:
    result = run_backtest(frame, strategy_for(bot), engine_config(bot.spec, MarketRules()), warmup=warmup)
    m = MarketRules()
    return [
        (f.seq, f.time, f.side, m.to_base(f.lots), m.price(f.price), m.to_quote(f.fee)) for f in result.fills
    ]


def stored_fills(db_url: str) -> list[tuple]:
    from decimal import Decimal

    from botrader.core.timeutil import datetime_to_ms

    rows = TradingStore(connect(db_url)).fills("btc-test")
    q = Decimal("1E-12")
    return [
        (
            r["seq"],
            datetime_to_ms(r["time"]),
            r["side"],
            Decimal(str(r["quantity"])).quantize(Decimal("1E-5")),
            Decimal(str(r["price"])).quantize(Decimal("0.01")),
            Decimal(str(r["fee"])).quantize(q),
        )
        for r in rows
    ]


def normalise(fills: list[tuple]) -> list[tuple]:
    from decimal import Decimal

    q = Decimal("1E-12")
    return [
        (s, t, side, qty.quantize(Decimal("1E-5")), px.quantize(Decimal("0.01")), fee.quantize(q))
        for s, t, side, qty, px, fee in fills
    ]


@pytest.mark.slow
async def test_live_trader_equals_backtest(pg_url: str, candle_file) -> None:
    """Collector replays into PostgreSQL while the trader trades on NOTIFY wake-ups."""
    path, frame = candle_file
    bot = parse_trading_bot(bot_doc(path))
    stop, started = asyncio.Event(), asyncio.Event()
    trader_task = asyncio.create_task(
        run_trader(bot, TraderSettings(pg_url, port=None, poll_interval=5.0), stop=stop, started=started)
    )
    await asyncio.wait_for(started.wait(), 20)
    cfg = CollectorConfig(
        symbols=["BTCUSDT"], source="replay", db_url=pg_url, replay_file=path, speed=0, port=None
    )
    await run_collector(cfg)
    store = CandleStore(connect(pg_url))
    last = store.last_open_time(make_key("replay", "BTCUSDT", "1m"))
    trading = TradingStore(connect(pg_url))
    for _ in range(400):
        row = trading.bot("btc-test")
        if row and row["last_candle_time"] is not None and _ms(row["last_candle_time"]) == last:
            break
        await asyncio.sleep(0.05)
    stop.set()
    trader = await asyncio.wait_for(trader_task, 20)
    assert trader.cursor == last
    expected = expected_fills(bot, frame)
    assert len(expected) >= 15
    assert stored_fills(pg_url) == normalise(expected)
    row = trading.bot("btc-test")
    assert row["phase"] == "Running" and row["trades"] == len(expected)


def _ms(value) -> int:
    from botrader.core.timeutil import datetime_to_ms

    return datetime_to_ms(value)


def load_candles(db_url: str, frame: pd.DataFrame) -> None:
    engine = connect(db_url)
    upgrade(engine)
    CandleStore(engine).upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame))


async def test_restart_and_crash_change_nothing(db_url: str, candle_file, monkeypatch) -> None:
    path, frame = candle_file
    bot = parse_trading_bot(bot_doc(path))
    load_candles(db_url, frame.iloc[:1200])
    settings = TraderSettings(db_url, port=None)
    await run_trader(bot, settings, until_caught_up=True)  # first run: 1,200 candles, then "killed"

    load_candles(db_url, frame)  # the collector went on meanwhile
    calls = {"n": 0}
    original = TradingStore.save_progress

    def crash_on_second_batch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # start-up checkpoint, one batch of 500 saved, then the crash
            raise RuntimeError("killed between deciding and persisting")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TradingStore, "save_progress", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="killed"):
        await run_trader(bot, TraderSettings(db_url, port=None, batch=500), until_caught_up=True)
    assert TradingStore(connect(db_url)).bot("btc-test")["last_candle_time"] is not None
    partial = stored_fills(db_url)
    monkeypatch.setattr(TradingStore, "save_progress", original)
    trader = await run_trader(bot, settings, until_caught_up=True)  # restart after the crash

    assert trader.cursor == int(frame["open_time"].iloc[-1])
    full = stored_fills(db_url)
    assert full == normalise(expected_fills(bot, frame))
    assert full[: len(partial)] == partial and len(full) > len(partial)


def test_a_live_bot_waits_for_its_series_to_catch_up_then_warms_and_trades_what_follows(
    db_url: str, candle_file
) -> None:
    """A backfill lands oldest first, the collector's catch-up after it: a new live bot that
    starts meanwhile trades nothing and warms nothing until the newest stored candle is the
    last one closed; then it warms on the candles before it and equals a backtest that warms on
    the same candles — never trading the backfill as if it were live."""
    path, frame = candle_file
    doc = bot_doc(path, source="binance")
    del doc["spec"]["replay"]
    bot = parse_trading_bot(doc)
    db = connect(db_url)
    upgrade(db)
    candles, key = CandleStore(db), make_key("binance", "BTCUSDT", "1m")
    times = [int(t) for t in frame["open_time"]]
    now = [times[1500]]  # the present: minute 1499 has just closed
    trader = PaperTrader(bot, candles, TradingStore(db), MarketRules(), clock=lambda: now[0])
    trader.start()
    row = TradingStore(db).bot("btc-test")
    assert row["message"] == "warming up: waiting for BTCUSDT candles to reach the present"
    candles.upsert(key, frame_to_candles(frame.iloc[:1000]))  # the backfill, part way
    assert trader.step() == 0 and trader.cursor is None and stored_fills(db_url) == []
    candles.upsert(key, frame_to_candles(frame.iloc[1000:1499]))  # one candle short of live: caught up
    assert trader.step() == 0 and trader.cursor == times[1498] and stored_fills(db_url) == []
    row = TradingStore(db).bot("btc-test")
    assert row["last_candle_time"] is not None and row["message"] == ""  # live, and says so
    for i in range(1499, CANDLES):  # the collector goes on, a minute at a time
        now[0] = times[i] + 60_000
        candles.upsert(key, frame_to_candles(frame.iloc[i : i + 1]))
        trader.step()
    warm = strategy_for(bot).warmup_length()
    expected = normalise(expected_fills(bot, frame.iloc[1499 - warm :], warmup=warm))
    assert stored_fills(db_url) == expected and len(expected) > 4


async def test_controls_pause_and_emergency_stop_are_audited(sqlite_url: str, candle_file) -> None:
    path, frame = candle_file
    load_candles(sqlite_url, frame.iloc[:400])
    db = connect(sqlite_url)
    bot = parse_trading_bot(
        bot_doc(path, strategy={"type": "rsi", "params": {"oversold": 45, "overbought": 99}})
    )
    trader = PaperTrader(bot, CandleStore(db), TradingStore(db), MarketRules())
    trader.start(actor="alice")
    trader.step()
    assert trader.engine.portfolio.lots > 0  # it bought and holds
    trader.set_controls(False, True, actor="alice")
    load_candles(sqlite_url, frame.iloc[:401])
    trader.step()
    assert trader.engine.portfolio.lots == 0 and trader.phase == "Halted"
    trader.set_controls(True, True, actor="bob")
    assert trader.phase == "Halted"  # paused and emergency-stopped: Halted, as everywhere
    trader.set_controls(True, False, actor="bob")
    assert trader.phase == "Paused"
    audit = TradingStore(db).audit_log("btc-test")
    assert [(a["actor"], a["after"]) for a in audit] == [
        ("alice", {"paused": False, "emergencyStop": True}),
        ("bob", {"paused": True, "emergencyStop": True}),
        ("bob", {"paused": True, "emergencyStop": False}),
    ]
    assert audit[2]["before"] == {"paused": True, "emergencyStop": True}
    row = TradingStore(db).bot("btc-test")
    assert row["phase"] == "Halted" or row["phase"] == "Running"  # persisted at the last step
    sides = [f["side"] for f in TradingStore(db).fills("btc-test")]
    assert sides[-1] == "sell"


async def test_waker_wakes_on_poke() -> None:
    waker = Waker("x", poll_interval=5.0)
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, waker.poke)
    began = loop.time()
    await waker.wait()
    assert loop.time() - began < 1.0


@pytest.mark.slow
async def test_trader_process_metrics_and_sigterm(sqlite_url: str, candle_file, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx
    import yaml

    from tests.support.servers import free_port

    path, frame = candle_file
    load_candles(sqlite_url, frame)
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(bot_doc(path)))
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botrader.core",
        "trade",
        "--bot",
        str(manifest),
        "--db",
        sqlite_url,
        "--port",
        str(port),
        "--log-level",
        "WARNING",
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    trading = TradingStore(connect(sqlite_url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = trading.bot("btc-test")
        if (
            row
            and row["last_candle_time"] is not None
            and _ms(row["last_candle_time"]) == frame["open_time"].iloc[-1]
        ):
            break
        await asyncio.sleep(0.1)
    async with httpx.AsyncClient() as client:
        body = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    for name in (
        "botrader_bot_equity",
        "botrader_bot_position",
        "botrader_bot_return_ratio",
        "botrader_bot_drawdown_ratio",
        "botrader_trades_total",
        "botrader_circuit_breaker_open",
        "botrader_decision_latency_seconds_bucket",
    ):
        assert f'{name}{{bot="btc-test"' in body, name
    lint = subprocess.run(["promtool", "check", "metrics"], input=body.encode(), capture_output=True)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout.decode()
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert time.monotonic() - began < 5
    out = (await proc.stdout.read()).decode()
    assert f"{len(expected_fills(parse_trading_bot(bot_doc(path)), frame))} fills" in out


def test_trade_by_name_and_bad_arguments(sqlite_url: str, candle_file, capsys) -> None:
    from botrader.core.cli.main import main

    path, frame = candle_file
    load_candles(sqlite_url, frame.iloc[:10])
    assert main(["trade", "--db", sqlite_url]) == 2
    assert "give exactly one of --bot FILE.yaml or --name NAME" in capsys.readouterr().err
    assert main(["trade", "--name", "ghost", "--db", sqlite_url]) == 2
    assert "no bot named 'ghost'" in capsys.readouterr().err
    db = connect(sqlite_url)
    TradingStore(db).register(
        "btc-test",
        "default",
        parse_trading_bot(bot_doc(path)).spec.model_dump(by_alias=True, exclude_none=True),
    )
    from botrader.services.cli.trade import load_bot

    loaded = load_bot(None, "btc-test", sqlite_url)
    assert loaded.spec == parse_trading_bot(bot_doc(path)).spec


@pytest.mark.slow
@pytest.mark.parametrize("fill", ["close", "next_open"])
async def test_user_strategy_with_exits_equals_backtest_across_a_kill(
    pg_url: str, candle_file, tmp_path: Path, fill: str
) -> None:
    """A strategy from a file, with a stop-loss and a take-profit, paper-traded on PostgreSQL:
    the trader process is killed (SIGKILL) after its first committed batch and restarted; the
    stored fills, reasons included, equal one uninterrupted backtest's."""
    import yaml

    from tests.support.paths import REPO
    from tests.support.trader_process import kill_midway_then_resume

    path, frame = candle_file
    load_candles(pg_url, frame)
    ref = f"{REPO / 'examples' / 'strategies' / 'bollinger_reversion.py'}:BollingerReversion"
    doc = bot_doc(
        path,
        strategy={"type": "custom", "ref": ref, "params": {"stop_loss": 0.003, "take_profit": 0.004}},
        execution={"fill": fill},
        risk={"maxDrawdownFraction": 0.5, "maxConsecutiveLosses": 1000},  # keep trading through losses
    )
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    await kill_midway_then_resume(manifest, pg_url, "btc-test", int(frame["open_time"].iloc[-1]))
    trading = TradingStore(connect(pg_url))
    bot = parse_trading_bot(doc)
    result = run_backtest(frame, strategy_for(bot), engine_config(bot.spec, MarketRules()))
    m = MarketRules()
    expected = [
        (f.seq, f.time, f.side, m.to_base(f.lots), m.price(f.price), m.to_quote(f.fee), f.reason)
        for f in result.fills
    ]
    rows = trading.fills("btc-test")
    stored = [(*fill_row, row["reason"]) for fill_row, row in zip(stored_fills(pg_url), rows, strict=True)]
    assert {"stop_loss", "take_profit", "signal"} <= {e[-1] for e in expected}
    assert stored == [
        (*n, e[-1]) for n, e in zip(normalise([e[:-1] for e in expected]), expected, strict=True)
    ]
