"""`botrader up` with a bot whose venue is the Spot Testnet — here the local stand-in, reached
through BOTRADER_VENUE_REST_URL with HMAC keys from the environment: every decision the engine
makes is sent once and settled, the API lists the orders and the divergence, and the secret
appears nowhere — not in the output, not in the database."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from botrader.core.db import connect
from botrader.core.db.trading import TradingStore
from botrader.core.db.venue import VenueStore
from botrader.core.engine.units import MarketRules
from tests.support.binance_spot import SpotStandIn, latest_close
from tests.support.paths import REPO

SECRET = "hmac-s3cret-never-shown"


@pytest.mark.slow
def test_up_with_a_testnet_venue(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "examples" / "tradingbot-testnet-replay.yaml").read_text())
    doc["spec"]["replay"]["path"] = str(REPO / "examples" / doc["spec"]["replay"]["path"])
    (tmp_path / "bot.yaml").write_text(yaml.safe_dump(doc))
    db = tmp_path / "venue.db"
    stand_in = SpotStandIn(market=MarketRules(), balances={"BTC": Decimal(0), "USDT": Decimal(10_000)})
    stand_in.price_source = lambda: latest_close(db)
    stand_in.levels = 50
    stand_in.add_hmac_key("testnet-key", SECRET)
    env = {
        **os.environ,
        "BOTRADER_VENUE_REST_URL": "",
        "BINANCE_API_KEY": "testnet-key",
        "BINANCE_API_SECRET": SECRET,
    }
    with stand_in:
        env["BOTRADER_VENUE_REST_URL"] = stand_in.url
        env["BOTRADER_VENUE_WS_API_URL"] = stand_in.ws_url
        up = [
            sys.executable,
            "-m",
            "botrader.core",
            "up",
            "-f",
            str(tmp_path / "bot.yaml"),
            "--db",
            f"sqlite:///{db}",
        ]
        run = subprocess.run(
            [*up, "--speed", "0", "--port", "0", "--exit-after-replay"],
            capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert stand_in.subscribed >= 1  # the user data stream, signed with the same keys
    name = doc["metadata"]["name"]
    engine = connect(f"sqlite:///{db}")
    orders = VenueStore(engine).orders(name)
    decisions = {f["order_id"] for f in TradingStore(engine).fills(name)}
    assert len(decisions) >= 4 and {o.intent.decision for o in orders} == decisions
    assert len(stand_in.orders) == sum(o.venue_id is not None for o in orders)  # each sent once
    assert all(o.state.final for o in orders)
    assert len(VenueStore(engine).fills(name)) == len(stand_in.trades)
    engine.dispose()
    assert SECRET not in run.stdout + run.stderr
    assert SECRET.encode() not in db.read_bytes()
