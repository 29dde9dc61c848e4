"""The dashboard in a real headless Chromium (Debian's), driven by playwright-core: the chart
renders candles, a trade appears after the trader makes one, new candles and fills arrive over
the WebSocket with no poll, the Stop button pauses the bot, and every tab (Overview, Performance,
Strategies, AI Insights, Audit log) renders real data and round-trips its state in the URL.
Screenshots are kept under tests/e2e/artifacts/."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.portfolio_paper import two_days_of_four_pairs
from tests.support.servers import free_port, wait_for_port

BROWSER_DIR = REPO / "tests" / "e2e" / "browser"
ARTIFACTS = REPO / "tests" / "e2e" / "artifacts"


@pytest.mark.slow
def test_dashboard_in_chromium(tmp_path: Path) -> None:
    assert shutil.which("node") and Path("/usr/bin/chromium").exists(), (
        "make test installs chromium and node deps"
    )
    assert (BROWSER_DIR / "node_modules" / "playwright-core").exists(), (
        "run: npm ci --prefix tests/e2e/browser"
    )
    port, token = free_port(), "browser-test-token"
    env = {**os.environ, "BOTRADER_API_TOKEN": token}
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "botrader.core",
            "up",
            "-f",
            str(REPO / "examples" / "tradingbot-replay.yaml"),
            "--db",
            f"sqlite:///{tmp_path / 'demo.db'}",
            "--port",
            str(port),
            "--speed",
            "6000",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_for_port(port, 30)
        ARTIFACTS.mkdir(exist_ok=True)
        run = subprocess.run(
            ["node", str(BROWSER_DIR / "dashboard.mjs"), f"http://127.0.0.1:{port}/", token, str(ARTIFACTS)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr + run.stdout
        assert '"phase":"Paused"' in run.stdout and '"live":true' in run.stdout
        assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
        for tab in ("overview", "performance", "strategies", "insights", "audit"):
            assert (ARTIFACTS / f"tab-{tab}.png").stat().st_size > 10_000, tab
    finally:
        app.send_signal(signal.SIGINT)
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
            raise
    assert app.returncode == 0, app.stderr.read().decode() if app.stderr else ""


@contextlib.contextmanager
def standalone_api(db: str, **env: str) -> Iterator[int]:
    """`botrader api` on loopback over `db`, as a user runs it beside other processes; its port."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "botrader.core",
        "api",
        "--db",
        db,
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    api = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **env}
    )
    try:
        wait_for_port(port, 30)
        ARTIFACTS.mkdir(exist_ok=True)
        yield port
    finally:
        api.terminate()
        api.wait(10)


@pytest.mark.slow
def test_overview_of_twenty_bots_loads_fast(tmp_path: Path) -> None:
    """Twenty bots traded by real PaperTraders, a standalone API, the Overview in Chromium:
    every row and sparkline renders; the time to that is reported (not a pass/fail figure)."""
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.trading import TradingStore
    from botrader.core.engine.units import MarketRules
    from botrader.core.manifests import parse_trading_bot
    from botrader.services.trader.trader import PaperTrader
    from tests.support.paths import SAMPLE

    url = f"sqlite:///{tmp_path / 'twenty.db'}"
    engine = connect(url)
    upgrade(engine)
    candles = CandleStore(engine)
    candles.upsert(
        make_key("replay", "BTCUSDT", "1m"), frame_to_candles(read_candles_frame(SAMPLE).iloc[:600])
    )
    for i in range(20):
        manifest = {
            "apiVersion": "botrader.io/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": f"bot-{i:02d}"},
            "spec": {
                "symbol": "BTCUSDT",
                "source": "replay",
                "replay": {"path": "x.csv"},
                "budget": 1000 + i,
            },
        }
        trader = PaperTrader(parse_trading_bot(manifest), candles, TradingStore(engine), MarketRules())
        trader.start(actor="test")
        while trader.step():
            pass
    engine.dispose()
    with standalone_api(url) as port:
        run = subprocess.run(
            ["node", str(BROWSER_DIR / "overview.mjs"), f"http://127.0.0.1:{port}/", str(ARTIFACTS)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr + run.stdout
        found = json.loads(run.stdout.strip().splitlines()[-1])
        assert found["rows"] == 20 and found["sparklines"] == 20
        print(f"Overview of 20 bots rendered in {found['ms']:.0f} ms (loopback, cold page)")
        (ARTIFACTS / "overview-20-bots.json").write_text(json.dumps(found))


@pytest.mark.slow
def test_two_bots_one_ppo_every_view(tmp_path: Path) -> None:
    """The demo's RSI bot and the PPO example's bot (trained first, as `botrader up` does) in one
    database, a standalone API reading the same MLflow store: the Overview lists both and the
    PPO bot's AI Insights show its model card with feature-importance bars."""
    db = f"sqlite:///{tmp_path / 'up.db'}"
    for manifest, speed in (
        ("tradingbot-ppo-replay.yaml", []),
        ("tradingbot-replay.yaml", ["--speed", "6000"]),
    ):
        up = [
            sys.executable,
            "-m",
            "botrader.core",
            "up",
            "-f",
            str(REPO / "examples" / manifest),
            "--db",
            db,
        ]
        done = subprocess.run(
            [*up, "--port", "0", "--exit-after-replay", *speed],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    with standalone_api(db, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}") as port:
        run = subprocess.run(
            [
                "node",
                str(BROWSER_DIR / "insights.mjs"),
                f"http://127.0.0.1:{port}/",
                "btc-ppo-replay",
                "btc-replay",
                str(ARTIFACTS),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr + run.stdout
        found = json.loads(run.stdout.strip().splitlines()[-1])
        assert found["bars"] > 0 and "parameters" in found["architecture"]
        assert (ARTIFACTS / "tab-insights-ppo.png").stat().st_size > 10_000


MARKER = "<img src=x onerror=window.__pwned=1>"
EVIL_STRATEGY = f'''
from botrader.core.strategy import Account, Candle, Strategy, Values


class Evil(Strategy):
    """Buys and sells every ten candles, its reasons carrying markup."""

    def on_candle(self, candle: Candle, ind: Values, account: Account):
        if candle.time // 60_000 % 10:
            return None
        if account.flat:
            return self.buy(1.0, note={MARKER!r})
        return self.sell(1.0, note={MARKER!r})
'''


def plant_markup(tmp_path: Path) -> tuple[str, str]:
    """A database and an MLflow store whose every user-written text carries MARKER: a custom
    strategy's reasons (its explanation), an audit actor and reason, a failed bot's message, a
    search's name and verdict, a training run's name, and a venue's rejection message (the
    exchange's text, shown in Performance's paper-vs-venue table)."""
    from mlflow import MlflowClient

    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.trading import TradingStore
    from botrader.core.db.venue import VenueStore
    from botrader.core.engine.units import MarketRules
    from botrader.core.manifests import parse_trading_bot
    from botrader.core.venue.orders import Intent, Order, State, bot_prefix, client_order_id
    from botrader.services.trader.trader import PaperTrader
    from tests.support.paths import SAMPLE

    (tmp_path / "evil.py").write_text(EVIL_STRATEGY)
    db = f"sqlite:///{tmp_path / 'xss.db'}"
    engine = connect(db)
    upgrade(engine)
    candles, store = CandleStore(engine), TradingStore(engine)
    candles.upsert(
        make_key("replay", "BTCUSDT", "1m"), frame_to_candles(read_candles_frame(SAMPLE).iloc[:300])
    )
    venue = {"type": "binance-testnet", "credentials": {"secret": "keys"}}
    for name, strategy in (
        ("xss-bot", {"type": "custom", "ref": f"{tmp_path / 'evil.py'}:Evil"}),
        ("xss-failed", {}),
    ):
        spec = {"symbol": "BTCUSDT", "source": "replay", "replay": {"path": "x.csv"}, "strategy": strategy}
        spec |= {"venue": venue} if name == "xss-bot" else {}
        bot = parse_trading_bot(
            {
                "apiVersion": "botrader.io/v1alpha1",
                "kind": "TradingBot",
                "metadata": {"name": name},
                "spec": spec,
            }
        )
        trader = PaperTrader(bot, candles, store, MarketRules())
        trader.start(actor="test")
        while name == "xss-bot" and trader.step():
            pass
    store.set_phase("xss-failed", "Failed", message=f"strategy failed to import: {MARKER}")
    rejected = Intent(
        client_order_id(bot_prefix("default", "xss-bot"), 1), "xss-bot", "BTCUSDT", "BUY", 1000, 1, 0
    )
    VenueStore(engine).commit_intent(rejected)
    VenueStore(engine).save(Order(rejected, State.REJECTED, error=f"-2010 {MARKER}"), 0)
    store.audit(MARKER, "xss-bot", "controls", {"paused": False}, {"paused": True, "reason": MARKER})
    engine.dispose()
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow = MlflowClient(tracking_uri=tracking)
    search = mlflow.create_experiment("botrader-optimize", artifact_location=str(tmp_path / "art"))
    tags = {"botrader.kind": "optimization", "botrader.strategy": "simple_rsi", "botrader.verdict": MARKER}
    mlflow.set_terminated(mlflow.create_run(search, run_name=MARKER, tags=tags).info.run_id)
    training = mlflow.create_experiment("Deep_RL_Trading", artifact_location=str(tmp_path / "art2"))
    mlflow.create_run(training, run_name=MARKER, tags={"botrader.verdict": MARKER})
    return db, tracking


def up_then_browse(manifest: Path, tmp_path: Path, script: str, bot: str) -> dict:
    """`botrader up` the manifest to the end of its replay, then `script` in Chromium against
    the API over the same database: what the script printed last (JSON)."""
    db = f"sqlite:///{tmp_path / 'up.db'}"
    up = [sys.executable, "-m", "botrader.core", "up", "-f", str(manifest), "--db", db]
    done = subprocess.run(
        [*up, "--port", "0", "--exit-after-replay", "--speed", "0"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with standalone_api(db) as port:
        run = subprocess.run(
            ["node", str(BROWSER_DIR / script), f"http://127.0.0.1:{port}/", bot, str(ARTIFACTS)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert run.returncode == 0, run.stderr + run.stdout
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_perpetual_bot_s_performance(tmp_path: Path) -> None:
    """The long/short example (a month of AVAX at 2x) through `botrader up`, then the
    dashboard's Performance tab: position and leverage, margin, liquidation price, margin
    ratio, funding paid or received, and round trips both long and short."""
    manifest = REPO / "examples" / "strategies" / "tradingbot-bollinger-long-short.yaml"
    shown = up_then_browse(manifest, tmp_path, "perpetual.mjs", "avax-long-short")
    assert shown["position"].endswith("2x isolated") and shown["funding"].startswith("-36.4")
    assert shown["sides"] == ["long", "short"]


@pytest.mark.slow
def test_no_value_from_the_api_runs_as_markup(tmp_path: Path) -> None:
    """Every tab in Chromium over planted markup: nothing runs, nothing breaks the CSP, and the
    text is shown literally where it belongs."""
    db, tracking = plant_markup(tmp_path)
    with standalone_api(db, MLFLOW_TRACKING_URI=tracking) as port:
        run = subprocess.run(
            [
                "node",
                str(BROWSER_DIR / "xss.mjs"),
                f"http://127.0.0.1:{port}/",
                "xss-bot",
                "xss-failed",
                MARKER,
                str(ARTIFACTS),
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert run.returncode == 0, run.stderr + run.stdout
    shown = json.loads(run.stdout.strip().splitlines()[-1])["shown"]
    assert all(count >= 1 for count in shown.values()), shown


@pytest.mark.slow
def test_a_portfolio_bot_s_positions_round_trips_and_universe(tmp_path: Path) -> None:
    """The universe replay example (the top two of four candidates by volume, two days each)
    through `botrader up`, then the Performance tab in Chromium: one Positions row per pair
    (side, quantity, entry, value, open and realised PnL, contribution, weight), round trips
    naming their pair, and the universe's picks — each change, newest first, as the API has
    them."""
    manifest = two_days_of_four_pairs(tmp_path, "tradingbot-universe-replay.yaml")
    shown = up_then_browse(manifest, tmp_path, "portfolio.mjs", "usdt-top-two-replay")
    assert [row[0] for row in shown["pairs"]] == ["ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT"]
    assert set(shown["tripPairs"]) <= {"ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT"} and shown["tripPairs"]
    assert shown["candles"] > 0 and shown["error"] == ""  # Overview charts the first pair's candles
    assert not shown["universeHidden"] and len(shown["universe"]) >= 2  # the picks changed at least once
    assert all(len(pairs.split(", ")) == 2 for _, pairs in shown["universe"][:-1])  # the top two
    assert shown["universe"][-1] == ["02-01 00:00", "(none yet)"]  # the first refresh has nothing closed
    assert shown["perpColumns"] == [False, False]  # spot pairs: no liquidation or funding columns
    name, *_, position, trades, reasons, _spark = shown["botRow"]
    assert name == "usdt-top-two-replay" and position == "–"  # one quantity means nothing across pairs
    assert int(trades) > 0 and reasons == "–"


@pytest.mark.slow
def test_a_perpetual_portfolio_s_positions_show_margin_and_funding(tmp_path: Path) -> None:
    """The perpetual portfolio example (four pairs long and short at 2x) through `botrader up`:
    each Positions row adds the pair's liquidation price and funding, and round trips go both
    ways."""
    manifest = two_days_of_four_pairs(tmp_path, "tradingbot-portfolio-perp-replay.yaml")
    shown = up_then_browse(manifest, tmp_path, "portfolio.mjs", "usdt-four-perp-replay")
    assert [row[0] for row in shown["pairs"]] == ["ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT"]
    assert shown["perpColumns"] == [True, True] and all(len(row) == 12 for row in shown["pairs"])
    assert shown["tripSides"] == ["long", "short"] and shown["error"] == ""
