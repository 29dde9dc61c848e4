"""`botrader optimize --market usdm-perp`: a long/short search on the real AVAXUSDT perpetual
month, each trial through the engine (the vectorised sweep is spot's and says it stepped
aside), judged by the same card; a perpetual search without funding is refused up front."""

from __future__ import annotations

import json

from botrader.core.cli.main import main
from tests.support.cli import one_error_line
from tests.support.paths import REPO

AVAX = REPO / "examples" / "data" / "AVAXUSDT-1m-2025-02.csv.gz"
LONG_SHORT = "rsi_long_short"
BASE = ["optimize", "--strategy", LONG_SHORT, "--data", str(AVAX), "--market", "usdm-perp"]


def test_a_long_short_search_on_a_perpetual(capsys) -> None:
    args = [*BASE, "--leverage", "2", "--funding-rate", "0.0001", "--trials", "6"]
    assert main([*args, "--ray-address", "none", "--mlflow-uri", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["market"] == "usdm-perp" and out["trials"] == 6 and out["invalid"] == 0
    assert out["evaluated_by"].startswith("the engine (spot only")
    assert out["verdict"] and out["pbo"] is not None
    rows = {row["variant"] for row in out["stress"]}  # the card's baselines gain a short-capable rule
    assert {"baseline simple_rsi", "baseline rsi_sma", "baseline rsi_long_short"} <= rows


def test_a_perpetual_search_without_funding_is_refused_before_it_starts(capsys) -> None:
    assert main([*BASE, "--trials", "6", "--ray-address", "none", "--mlflow-uri", "none"]) == 2
    one_error_line(capsys, "needs its funding")


def test_a_ppo_search_on_a_perpetual_trains_long_short_agents() -> None:
    """Each trial of `optimize --strategy ppo --market usdm-perp` trains in the perpetual's
    engine (its model records the market and trades long and short), not on spot."""
    from botrader.core.market_kind import MarketOptions
    from botrader.jobs.research.ppo import ppo_trial

    hp = {"total_timesteps": 4096, "num_envs": 8, "num_steps": 64, "window_size": 120, "fee_rate": 0.0005}
    perp = MarketOptions(market="usdm-perp", leverage=2, funding_rate="0.0001")
    trial = ppo_trial(str(AVAX), 10_000.0, hp, 4, "sharpe", perp)
    assert (trial.model.meta.market, trial.model.meta.leverage) == ("usdm-perp", 2)
    assert trial.model.meta.can_short
