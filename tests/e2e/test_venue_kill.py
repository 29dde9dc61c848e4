"""Kill -9 a venue trader again and again while it trades, at random moments — before an
intent commits, between commit and send, between send and answer, after the answer — with
lost answers injected on the venue's side too; restart it each time. At the end every order
the venue holds for the bot is in the database exactly once, every venue trade is stored once,
every decision the engine made reached the venue at most once, and the position from the
stored fills equals what the venue's balances moved by."""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.venue import VenueStore
from botrader.core.engine.units import MarketRules
from botrader.core.venue.ledger import Ledger
from tests.support.binance_spot import SpotStandIn
from tests.support.paths import REPO, SAMPLE
from tests.support.servers import free_port

NAME = "btc-testnet"


def bot_close(db: Path) -> float | None:
    """The close of the candle the bot decided on last: the venue's book sits there."""
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT c.close FROM candles c JOIN bots b ON c.open_time = b.last_candle_time "
                "WHERE b.name = ?",
                (NAME,),
            ).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


@pytest.mark.slow
def test_kill_nine_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    url = f"sqlite:///{db}"
    engine = connect(url)
    upgrade(engine)
    frame = read_candles_frame(SAMPLE)
    CandleStore(engine).upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame))
    doc = yaml.safe_load((REPO / "examples" / "tradingbot-testnet-replay.yaml").read_text())
    doc["spec"]["risk"] = {
        "maxConsecutiveLosses": 1000,
        "dailyLossLimitFraction": 1,
        "maxDrawdownFraction": 1,
    }
    (tmp_path / "bot.yaml").write_text(yaml.safe_dump(doc))
    stand_in = SpotStandIn(market=MarketRules(), balances={"BTC": Decimal(0), "USDT": Decimal(1000)})
    stand_in.price_source = lambda: bot_close(db)
    stand_in.levels = 50
    stand_in.add_hmac_key("k", "s")
    rng = random.Random(7)
    kills, ended = 0, []
    with stand_in:
        env = {
            **os.environ,
            "BOTRADER_VENUE_REST_URL": stand_in.url,
            "BOTRADER_VENUE_WS_API_URL": stand_in.ws_url,
            "BINANCE_API_KEY": "k",
            "BINANCE_API_SECRET": "s",
        }
        bot = str(tmp_path / "bot.yaml")
        trade = [sys.executable, "-m", "botrader.core", "trade", "--bot", bot, "--db", url,
                 "--batch", "1", "--until-caught-up", "--log-level", "WARNING"]  # fmt: skip
        for _ in range(8):
            stand_in.fail_next(*rng.choice([[], ["lost_answer"], ["unknown"]]))
            proc = subprocess.Popen([*trade, "--port", str(free_port())], env=env, stderr=subprocess.PIPE)
            # kill after one to three more orders reached the venue, a moment later: anywhere
            # between an intent's commit and its answer being recorded, whatever the machine's speed
            wanted, deadline = len(stand_in.placed) + rng.randint(1, 3), time.monotonic() + 60
            while len(stand_in.placed) < wanted and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.03))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += proc.returncode == -signal.SIGKILL
            if proc.returncode != -signal.SIGKILL:
                ended.append((proc.returncode, proc.stderr.read().decode(errors="replace")[-600:]))
        done = subprocess.run(
            [*trade, "--port", str(free_port())], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        if VenueStore(engine).orders(NAME, final=False):  # the last kill left an intent unsent:
            time.sleep(11)  # once its receive window has passed, a trader closes it as never sent
            subprocess.run([*trade, "--port", str(free_port())], env=env, timeout=300, check=True)
    assert kills >= 6, ended  # most runs were killed mid-way, not finished
    store = VenueStore(engine)
    orders = store.orders(NAME)
    sent = collections.Counter(o.client_id for o in stand_in.orders)
    assert sent and max(sent.values()) == 1  # no client id reached the venue twice
    rows = [(o.intent.client_id[-4:], o.state.value, o.venue_id, o.error[:30]) for o in orders]
    print("ROWS", rows)
    print("PLACED", [(c[-4:], st, t[:40]) for c, st, t in stand_in.placed])
    assert sorted(sent) == sorted(o.intent.client_id for o in orders if o.venue_id is not None), (
        rows,
        stand_in.placed,
    )
    assert all(o.state.final for o in orders), [o for o in orders if not o.state.final]
    assert [f.trade_id for f in store.fills(NAME)] == [t.id for t in stand_in.trades]
    ledger = Ledger.of(store.fills(NAME), "BTC", "USDT")
    assert ledger.base == stand_in.balances["BTC"] and ledger.quote == stand_in.balances["USDT"] - 1000
    with sqlite3.connect(db) as conn:
        decisions = {
            r[0] for r in conn.execute("SELECT DISTINCT order_id FROM trades WHERE bot = ?", (NAME,))
        }
    assert {o.intent.decision for o in orders} <= decisions and len(decisions) >= 4
    trades = len(stand_in.trades)
    print(f"{kills} kills, {len(orders)} venue orders, {trades} venue trades, {len(decisions)} decisions")
    engine.dispose()
