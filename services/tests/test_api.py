"""The status API over a database a real trader filled (SQLite; PostgreSQL for the key paths)."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from botrader.core.backtesting.runner import run_backtest
from botrader.core.bot_engine import engine_config, strategy_for
from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import parse_trading_bot
from botrader.core.resample import resample
from botrader.core.timeutil import ms_to_datetime
from botrader.services.api.control import LocalController
from botrader.services.api.main import create_app
from botrader.services.trader.trader import PaperTrader
from tests.support.paths import SAMPLE

TOKEN = "s3cret-token"
BOT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TradingBot",
    "metadata": {"name": "btc-api"},
    "spec": {
        "symbol": "BTCUSDT",
        "source": "replay",
        "replay": {"path": "x.csv"},
        "budget": 10000,
        "risk": {"maxConsecutiveLosses": 10},
    },
}


@pytest.fixture
def world(db_url: str):
    engine = connect(db_url)
    upgrade(engine)
    frame = read_candles_frame(SAMPLE)
    CandleStore(engine).upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame))
    bot = parse_trading_bot(BOT)
    trader = PaperTrader(bot, CandleStore(engine), TradingStore(engine), MarketRules())
    trader.start(actor="test")
    while trader.step():
        pass
    controller = LocalController()
    controller.register(trader)
    client = TestClient(create_app(engine, controller=controller, token=TOKEN))
    yield client, frame, bot, trader
    engine.dispose()


def test_bots_detail_trades_equity_performance(world) -> None:
    client, frame, bot, _trader = world
    (summary,) = client.get("/bots").json()
    assert summary["name"] == "btc-api" and summary["phase"] == "Running" and summary["strategy"] == "rsi"
    expected = run_backtest(frame, strategy_for(bot), engine_config(bot.spec, MarketRules()))
    assert summary["trades"] == len(expected.fills) > 0
    assert summary["equity"] == pytest.approx(expected.performance.final_equity, abs=1e-6)
    detail = client.get("/bots/btc-api").json()
    assert detail["spec"]["symbol"] == "BTCUSDT" and "rsi" in detail["last_decision"]["explanation"]
    page = client.get("/bots/btc-api/trades", params={"limit": 3, "offset": 1}).json()
    assert page["total"] == len(expected.fills) and len(page["items"]) == 3
    assert page["items"][0]["seq"] == len(expected.fills) - 2  # newest first, after skipping one
    after = frame["open_time"].iloc[1500]
    later = client.get("/bots/btc-api/trades", params={"start": int(after), "limit": 1000}).json()
    assert later["total"] == sum(1 for f in expected.fills if f.time >= after)
    equity = client.get("/bots/btc-api/equity", params={"limit": 10}).json()
    assert len(equity) == 10 and equity[-1]["equity"] == pytest.approx(summary["equity"])
    perf = client.get("/bots/btc-api/performance").json()
    mine = expected.performance
    assert (perf["trades"], perf["round_trips"]) == (mine.trades, mine.round_trips)
    assert perf["total_return"] == pytest.approx(mine.total_return, abs=1e-9)
    assert perf["win_rate"] == pytest.approx(mine.win_rate) and perf["max_drawdown"] == pytest.approx(
        mine.max_drawdown
    )
    # two days of marks: no Sharpe, and the page can say why (days of the minimum)
    assert perf["sharpe"] is None and perf["sortino"] is None
    assert (perf["days"], perf["sharpe_min_days"]) == (mine.days, 30) and mine.days <= 3
    assert perf["exits"] == mine.exits == {"signal": mine.trades // 2}


def test_round_trips_and_thinned_equity(world) -> None:
    client, frame, bot, _ = world
    market = MarketRules()
    expected = run_backtest(frame, strategy_for(bot), engine_config(bot.spec, market))
    trips = client.get("/bots/btc-api/round-trips").json()
    assert len(trips) == expected.performance.round_trips > 0
    # all in, all out: each trip is one buy and one sell, in the engine's order
    for trip, (buy, sell) in zip(
        trips, zip(expected.fills[::2], expected.fills[1::2], strict=False), strict=False
    ):
        assert (buy.side, sell.side, trip["fills"], trip["reason"]) == ("buy", "sell", 2, "signal")
        assert trip["entry_time"].startswith(ms_to_datetime(buy.time).strftime("%Y-%m-%dT%H:%M"))
        assert trip["exit_price"] == pytest.approx(float(market.price(sell.price)))
        assert trip["pnl"] == pytest.approx(float(market.to_quote(sell.pnl)), abs=1e-9)
        assert trip["fees"] == pytest.approx(float(market.to_quote(buy.fee + sell.fee)), abs=1e-9)
    every = client.get("/bots/btc-api/equity", params={"limit": 100_000}).json()
    thin = client.get("/bots/btc-api/equity", params={"points": 50}).json()
    assert len(thin) == 50 and thin[0] == every[0] and thin[-1] == every[-1]
    assert [p["time"] for p in thin] == sorted(p["time"] for p in thin)


@pytest.mark.parametrize("interval", ["1m", "5m", "15m", "1h"])
def test_candles_resampled_from_1m(world, interval: str) -> None:
    client, frame, _, _ = world
    got = client.get("/candles", params={"exchange": "replay", "interval": interval, "limit": 20}).json()
    expected = resample(frame, "1m", interval).tail(20)
    assert [c["time"] for c in got] == expected["open_time"].tolist()
    assert [c["close"] for c in got] == expected["close"].tolist()
    assert [c["high"] for c in got] == expected["high"].tolist()


def test_strategies_models_audit(world, monkeypatch) -> None:
    client, *_ = world
    found = {s["name"]: s for s in client.get("/strategies").json()}
    assert sorted(found) == ["ppo", "rsi_long_short", "rsi_sma", "simple_rsi"]
    rsi = found["simple_rsi"]
    assert rsi["aliases"] == ["rsi"] and rsi["source"] == "botrader-core"
    assert rsi["description"].startswith("RSI(period): buy with all cash when flat")
    assert rsi["params"]["period"] == {**rsi["params"]["period"], "type": "int", "default": 14, "ge": 2}
    assert rsi["params"]["oversold"]["search"] == [20, 30]
    assert found["ppo"]["source"] == "botrader-jobs" and "model" in found["ppo"]["params"]
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert client.get("/models").json() == {"configured": False, "tracking_uri": None, "models": []}
    assert client.get("/audit").json() == []


def test_control_needs_the_token_and_is_audited(world) -> None:
    client, _, _, _trader = world
    assert client.post("/bots/btc-api/stop").status_code == 401
    assert client.post("/bots/btc-api/stop", headers={"Authorization": "Bearer nope"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.post("/bots/btc-api/stop", headers=auth).json() == {
        "bot": "btc-api",
        "action": "stop",
        "phase": "Paused",
    }
    assert client.get("/bots/btc-api").json()["phase"] == "Paused"
    assert client.post("/bots/btc-api/emergency-stop", headers=auth).json()["phase"] == "Halted"
    assert client.post("/bots/btc-api/start", headers=auth).json()["phase"] == "Running"
    audit = client.get("/audit", params={"bot": "btc-api"}).json()
    assert [a["after"] for a in audit] == [
        {"paused": False, "emergencyStop": False},
        {"paused": False, "emergencyStop": True},
        {"paused": True, "emergencyStop": False},
    ]
    assert {a["actor"] for a in audit} == {"api-token"}
    assert client.post("/bots/ghost/stop", headers=auth).status_code == 404


def test_control_disabled_or_uncontrolled(sqlite_url: str) -> None:
    engine = connect(sqlite_url)
    upgrade(engine)
    TradingStore(engine).register("other", "default", {"symbol": "BTCUSDT"})
    client = TestClient(create_app(engine))
    assert client.post("/bots/other/stop", headers={"Authorization": "Bearer x"}).status_code == 403
    client = TestClient(create_app(engine, token="t"))
    response = client.post("/bots/other/stop", headers={"Authorization": "Bearer t"})
    assert response.status_code == 409 and "not controlled by this API" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/candles", {"interval": "7m"}, "interval"),
        ("/candles", {"limit": 0}, "limit"),
        ("/candles", {"symbol": "BTC-USDT"}, "symbol"),
        ("/candles", {"start": "yesterday"}, '"loc":["query","start"]'),
        ("/candles", {"start": "2024-02-30"}, "bad start '2024-02-30'"),
        ("/bots/btc-api/trades", {"limit": 5000}, "limit"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(world, path: str, params: dict, field: str) -> None:
    client, *_ = world
    response = client.get(path, params=params)
    assert response.status_code == 422 and field in response.text


def test_health_readiness_metrics_and_dashboard(world, tmp_path: Path) -> None:
    client, *_ = world
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.get("/bots/nope")
    body = client.get("/metrics").text
    assert (
        'botrader_api_request_duration_seconds_count{method="GET",route="/bots/{name}",status="404"}' in body
    )
    page = client.get("/").text
    assert "lightweight-charts.standalone.production.js" in page
    assert client.get("/static/vendor/lightweight-charts.standalone.production.js").status_code == 200
    from sqlalchemy import create_engine

    from tests.support.servers import free_port

    unreachable = create_engine(f"postgresql+psycopg://bot@127.0.0.1:{free_port()}/botrader")
    down = TestClient(create_app(unreachable))
    assert down.get("/healthz").status_code == 200  # alive, but
    assert down.get("/readyz").status_code == 503  # not ready without its database


def test_performance_follows_the_trader_past_its_cache(sqlite_url: str) -> None:
    engine = connect(sqlite_url)
    upgrade(engine)
    frame = read_candles_frame(SAMPLE)
    store = CandleStore(engine)
    store.upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame.iloc[:1500]))
    bot = parse_trading_bot(BOT)
    trader = PaperTrader(bot, store, TradingStore(engine), MarketRules())
    trader.start()
    trader.step()
    client = TestClient(create_app(engine))
    first = client.get("/bots/btc-api/performance").json()
    assert client.get("/bots/btc-api/performance").json() == first  # served from the cache
    assert first["candles"] == 1500
    store.upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame))
    while trader.step():
        pass
    later = client.get("/bots/btc-api/performance").json()
    expected = run_backtest(frame, strategy_for(bot), engine_config(bot.spec, MarketRules())).performance
    assert later["candles"] == 2880 and later["trades"] == expected.trades
    assert later["total_return"] == pytest.approx(expected.total_return, abs=1e-9)
