"""TradingBots on a real control plane (tests/support/testenv.py; the operator as the chart's
ServiceAccount, `cluster` in conftest.py): real Deployments roll out into ReplicaSets and
Running pods, the phase follows the real Deployment status, spec changes become Events and
audit rows, shared collectors go with their last bot, a strategy from a ConfigMap (and a
broken one failing the bot), a stale status patch refused, and secrets shown nowhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from botrader.operator import builders
from tests.support.cluster import (
    apply,
    conditions,
    get,
    kubectl,
    migrated_db,
    operator_process,
    patch,
    phase,
    trading_bot,
    wait,
    wait_condition,
    wait_phase,
)


@pytest.mark.slow
def test_bots_on_a_real_cluster(cluster) -> None:
    plane, identity, workdir, _ = cluster
    db = workdir / "bots.db"
    env = {"BOTRADER_DB_URL": f"sqlite:///{db}"}
    with operator_process(plane, identity, workdir, "--standalone", env=env):
        apply(plane, [trading_bot("btc-one")])
        trader = wait(lambda: get(plane, "Deployment", "btc-one-trader"), "the trader Deployment")
        assert trader["spec"]["replicas"] == 1
        for name in ("btc-one-config",):
            assert get(plane, "ConfigMap", name)
        # the real controllers: ReplicaSet → pod → kwok runs it → the Deployment reports ready
        wait_phase(plane, "TradingBot", "btc-one", "Running", 90)
        pods = [p for p in get(plane, "Pod") if p["metadata"]["name"].startswith("btc-one-trader")]
        assert pods and all(p["status"]["phase"] == "Running" for p in pods)
        assert conditions(plane, "TradingBot", "btc-one")["TraderReady"]["status"] == "True"
        # what a restarted operator compares the cached trader with (not to apply it again)
        handled = get(plane, "TradingBot", "btc-one")["status"]["reconcile_bot"]["configHash"]
        assert handled == trader["spec"]["template"]["metadata"]["annotations"][builders.CONFIG_HASH]

        patch(plane, "TradingBot", "btc-one", {"spec": {"paused": True}})
        wait(lambda: get(plane, "Deployment", "btc-one-trader")["spec"]["replicas"] == 0, "trader at 0")
        wait_phase(plane, "TradingBot", "btc-one", "Paused")

        patch(plane, "TradingBot", "btc-one", {"spec": {"paused": False, "budget": 20000}})

        def rolled() -> bool:
            sets = [
                r for r in get(plane, "ReplicaSet") if r["metadata"]["name"].startswith("btc-one-trader-")
            ]
            return len(sets) == 2 and any(r["status"].get("readyReplicas") == 1 for r in sets)

        wait(rolled, "a second ReplicaSet for the new spec", 90)
        wait_phase(plane, "TradingBot", "btc-one", "Running", 90)

        apply(plane, [trading_bot("btc-two")])
        collector = "collector-binance-btcusdt-1m"
        wait_phase(plane, "TradingBot", "btc-two", "Running", 90)
        assert "ownerReferences" not in get(plane, "Deployment", collector)["metadata"]  # no bot owns it
        kubectl(plane, "delete", "tradingbot", "btc-one", "--wait=true", "--timeout=60s")
        wait(
            lambda: get(plane, "Deployment", "btc-one-trader") is None, "the GC removed btc-one's trader", 90
        )
        wait(lambda: get(plane, "ConfigMap", "btc-one-config") is None, "and its ConfigMap", 90)
        assert get(plane, "Deployment", collector) is not None  # the shared collector stays for btc-two
        kubectl(plane, "delete", "tradingbot", "btc-two", "--wait=true", "--timeout=60s")
        wait(lambda: get(plane, "Deployment", collector) is None, "the collector went with the last bot", 90)


@pytest.mark.slow
def test_the_phase_follows_the_trader_deployment_not_the_refresh_timer(cluster) -> None:
    """With the status refresh ten minutes apart, the bot still turns Running when its trader's
    pod does: the operator watches its trader Deployments. Unpausing leaves the phase Pending
    (the handler cannot know the rollout's outcome); only the Deployment's watch event can
    make it Running in time."""
    plane, identity, workdir, _ = cluster
    env = {"BOTRADER_STATUS_INTERVAL": "600"}
    with operator_process(plane, identity, workdir, "--standalone", env=env):
        apply(plane, [trading_bot("btc-follow", paused=True)])
        wait_phase(plane, "TradingBot", "btc-follow", "Paused", 60)
        wait(lambda: get(plane, "Deployment", "btc-follow-trader"), "the trader Deployment (0 replicas)")
        for _ in range(2):  # the second time long after the refresh's first (and only) run
            patch(plane, "TradingBot", "btc-follow", {"spec": {"paused": False}})
            wait_phase(plane, "TradingBot", "btc-follow", "Running", 30)
            assert conditions(plane, "TradingBot", "btc-follow")["TraderReady"]["status"] == "True"
            patch(plane, "TradingBot", "btc-follow", {"spec": {"paused": True}})
            wait_phase(plane, "TradingBot", "btc-follow", "Paused", 30)
            wait_condition(plane, "TradingBot", "btc-follow", "TraderReady", reason="Paused", seconds=30)
        kubectl(plane, "delete", "tradingbot", "btc-follow", "--wait=true", "--timeout=60s")


@pytest.mark.slow
def test_spec_changes_are_events_and_audit_rows_and_the_summary_comes_from_the_trader(cluster) -> None:
    from datetime import UTC, datetime

    from botrader.core.db import connect
    from botrader.core.db.trading import BOTS as ROWS
    from botrader.core.db.trading import TradingStore

    plane, identity, workdir, _ = cluster
    url = migrated_db(workdir, "audit.db")
    store = TradingStore(connect(url))
    store.register("btc-audited", "default", {"symbol": "BTCUSDT"})
    with store.engine.begin() as conn:  # what the bot's trader persists
        conn.execute(
            ROWS.update()
            .where(ROWS.c.name == "btc-audited")
            .values(
                equity=10250.5,
                pnl_percent=2.505,
                trades=12,
                last_candle_time=datetime(2025, 6, 1, 12, tzinfo=UTC),
            )
        )
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": url}):
        apply(plane, [trading_bot("btc-audited")])
        wait(lambda: get(plane, "TradingBot", "btc-audited")["status"].get("trades") == 12, "the summary")
        tb = get(plane, "TradingBot", "btc-audited")["status"]
        assert (tb["equity"], tb["pnlPercent"], tb["lastCandleTime"]) == (
            10250.5,
            2.505,
            "2025-06-01T12:00:00Z",
        )
        patch(plane, "TradingBot", "btc-audited", {"spec": {"paused": True}})

        def paused_event() -> list[dict]:
            return [
                e
                for e in get(plane, "Event")
                if e.get("reason") == "Paused" and e["involvedObject"]["name"] == "btc-audited"
            ]

        (event,) = wait(paused_event, "a Paused event")
        assert event["message"] == "paused: false → true (by k8s:kubectl-patch)"
        rows = wait(lambda: store.audit_log(bot="btc-audited"), "an audit row")
        assert (rows[-1]["actor"], rows[-1]["before"], rows[-1]["after"]) == (
            "k8s:kubectl-patch",
            {"paused": False},
            {"paused": True},
        )
        listing = kubectl(plane, "get", "tb", "btc-audited").splitlines()[1].split()
        assert listing[1:4] == ["BTCUSDT", "rsi", "Paused"] and "10250.5" in listing
        kubectl(
            plane, "delete", "tradingbot", "btc-audited", "--wait=true"
        )  # Kopf's finalizer: while it runs


@pytest.mark.slow
def test_a_new_live_bot_says_it_is_warming_until_its_candles_reach_the_present(cluster) -> None:
    """A new live bot whose collector has stored nothing yet trades nothing until its candles
    reach the present; kubectl showed it Running and nothing more. Its trader (the real
    PaperTrader, beside the cluster on the operator's database) says why in its row, and the
    refresh shows it: WarmedUp=False naming the pair, then True once it trades."""
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db import connect
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.trading import TradingStore
    from botrader.core.engine.units import MarketRules
    from botrader.core.manifests import parse_trading_bot
    from botrader.services.trader.trader import PaperTrader
    from tests.support.paths import SAMPLE

    plane, identity, workdir, _ = cluster
    url = migrated_db(workdir, "warming.db")
    doc = trading_bot("btc-warming")
    frame = read_candles_frame(SAMPLE).iloc[:300]
    present = int(frame["open_time"].iloc[-1]) + 60_000  # the last candle has just closed
    db = connect(url)
    candles = CandleStore(db)
    bot = parse_trading_bot(doc)
    trader = PaperTrader(bot, candles, TradingStore(db), MarketRules(), clock=lambda: present)
    trader.start()  # nothing stored yet: it waits
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": url}):
        apply(plane, [doc])
        waiting = wait_condition(plane, "TradingBot", "btc-warming", "WarmedUp", "False")
        assert waiting["reason"] == "WaitingForCandles"
        assert waiting["message"] == "warming up: waiting for BTCUSDT candles to reach the present"
        assert "lastCandleTime" not in get(plane, "TradingBot", "btc-warming")["status"]
        candles.upsert(make_key("binance", "BTCUSDT", "1m"), frame_to_candles(frame))  # the backfill
        trader.step()  # caught up: it warms, and trades from the next candle
        warmed = wait_condition(plane, "TradingBot", "btc-warming", "WarmedUp", "True")
        assert warmed["reason"] == "Trading" and warmed["message"] == ""
        assert get(plane, "TradingBot", "btc-warming")["status"]["lastCandleTime"] == "2025-06-01T04:59:00Z"
        kubectl(plane, "delete", "tradingbot", "btc-warming", "--wait=true", "--timeout=60s")
    db.dispose()


@pytest.mark.slow
def test_bots_created_at_once_share_one_collector_that_goes_with_the_last_even_while_down(cluster) -> None:
    """24 bots on one market at once: one collector, owned by none of them (one owner per bot
    made every new bot re-patch a growing object). It stays while any bot trades on it; the last
    bot deleted while the operator is stopped, the collector goes when the operator is back."""
    plane, identity, workdir, _ = cluster
    bots = [trading_bot(f"crowd-{i:02d}", symbol="ETHUSDT") for i in range(24)]
    collector = "collector-binance-ethusdt-1m"
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, bots)
        wait_phase(plane, "TradingBot", "crowd-23", "Running", 90)
        found = wait(lambda: get(plane, "Deployment", collector), "the shared collector", 30)
        assert "ownerReferences" not in found["metadata"]
        managers = [m["manager"] for m in found["metadata"]["managedFields"]]
        assert "botrader-operator" in managers  # server-side applied
        kubectl(plane, "delete", "tradingbots", *[b["metadata"]["name"] for b in bots[:-1]], "--wait=true")
        wait(lambda: get(plane, "Deployment", "crowd-00-trader") is None, "the GC removed their traders", 90)
        assert get(plane, "Deployment", collector) is not None  # crowd-23 still trades on it
    # no finalizer: the bot goes at once although no operator runs
    kubectl(plane, "delete", "tradingbot", "crowd-23", "--wait=true", "--timeout=20s")
    assert get(plane, "TradingBot", "crowd-23") is None
    assert get(plane, "Deployment", collector) is not None  # nobody removed it: the operator is down
    with operator_process(plane, identity, workdir, "--standalone"):
        wait(lambda: get(plane, "Deployment", collector) is None, "the orphaned collector gone at start", 90)


@pytest.mark.slow
def test_a_portfolio_bot_runs_on_one_collector_per_pair_shared_with_others(cluster) -> None:
    """A bot over three pairs: one trader, a collector per pair — one of them shared with a
    one-symbol bot on the same pair, and kept when the portfolio goes while that bot stays."""
    plane, identity, workdir, _ = cluster
    portfolio = trading_bot(
        "three", symbols=["ADAUSDT", "DOTUSDT", "LTCUSDT"], portfolio={"maxOpenPositions": 2}
    )
    del portfolio["spec"]["symbol"]
    single = trading_bot("ltc-one", symbol="LTCUSDT")
    names = [f"collector-binance-{s}-1m" for s in ("adausdt", "dotusdt", "ltcusdt")]
    # the status refresh ten minutes apart: CollectorReady follows the collectors' own watch
    # events (the trader may be ready before them, and then has no event left to move it)
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_STATUS_INTERVAL": "600"}):
        apply(plane, [portfolio, single])
        wait_phase(plane, "TradingBot", "three", "Running", 90)
        wait(
            lambda: conditions(plane, "TradingBot", "three")["CollectorReady"]["status"] == "True",
            "CollectorReady once the three collectors are",
            30,
        )
        for replicas, ready in (("0", "False"), ("1", "True")):  # ADA's collector down, then back
            kubectl(plane, "scale", "deployment", names[0], f"--replicas={replicas}")
            wait(
                lambda ready=ready: (
                    conditions(plane, "TradingBot", "three")["CollectorReady"]["status"] == ready
                ),
                f"CollectorReady {ready} from the collector's own event",
                30,
            )
        for name in names:
            found = wait(lambda name=name: get(plane, "Deployment", name), name, 30)
            args = found["spec"]["template"]["spec"]["containers"][0]["args"]
            assert args[args.index("--symbol") + 1] == name.split("-")[2].upper()
        assert get(plane, "Deployment", "three-trader") is not None
        kubectl(plane, "delete", "tradingbot", "three", "--wait=true", "--timeout=60s")
        wait(lambda: get(plane, "Deployment", names[0]) is None, "ADA's collector went with its only bot", 90)
        wait(lambda: get(plane, "Deployment", names[1]) is None, "and DOT's", 90)
        assert get(plane, "Deployment", names[2]) is not None  # ltc-one still trades on LTC
        kubectl(plane, "delete", "tradingbot", "ltc-one", "--wait=true", "--timeout=60s")


@pytest.mark.slow
def test_a_universe_ranked_from_its_minutes_collects_every_candidate_and_one_without_is_refused(
    cluster,
) -> None:
    """A bot picking the top pair of two candidates by volume, refreshed every 90 minutes (not
    whole hours: it ranks from its stored minutes): one trader and a collector for each
    candidate (every one is ranked, so every one is collected); without candidates the bot is
    refused (a permanent error naming spec.universe.candidates) and nothing is made."""
    plane, identity, workdir, _ = cluster
    universe = {"topByQuoteVolume": 1, "refresh": "90m"}
    picked = trading_bot("top-one", universe={**universe, "candidates": ["XRPUSDT", "SOLUSDT"]})
    unnamed = trading_bot("top-any", universe=universe)
    for doc in (picked, unnamed):
        del doc["spec"]["symbol"]
    names = ["collector-binance-solusdt-1m", "collector-binance-xrpusdt-1m"]
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [picked, unnamed])
        wait_phase(plane, "TradingBot", "top-one", "Running", 90)
        for name in names:
            wait(lambda name=name: get(plane, "Deployment", name), name, 30)
        assert get(plane, "Deployment", "top-one-trader") is not None
        assert get(plane, "Deployment", "top-any-trader") is None  # refused: nothing to collect or trade
        kubectl(plane, "delete", "tradingbot", "top-one", "top-any", "--wait=true", "--timeout=60s")
        for name in names:
            wait(lambda name=name: get(plane, "Deployment", name) is None, f"{name} gone with its bot", 90)


@pytest.mark.slow
def test_a_universe_following_its_picks_collects_only_the_pairs_its_trader_needs(
    cluster, monkeypatch
) -> None:
    """A live universe of whole hours (top 1 of ALGO, FIL and NEAR, hourly) ranks from the
    exchange's hourly klines, so it needs the minutes of only the pairs it has picked or still
    holds. Its trader (the real PortfolioTrader beside the cluster, on the operator's database
    and a local exchange) saves them; the operator copies them to `status.collect` and runs a
    collector for those alone — none before the first pick, none for ALGO (never picked), no
    backfill Job — adding NEAR's when it is picked and deleting it once it is dropped and flat,
    while FIL's stays for the one-symbol bot that shares it. The test stores the minutes of
    exactly the pairs the trader asked for, as their collectors would."""
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db import connect
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.trading import TradingStore
    from botrader.core.manifests import parse_trading_bot
    from botrader.services.trader.portfolio import PortfolioTrader
    from tests.support.fake_binance import hourly_exchange, served
    from tests.support.paths import BINANCE_MONTH

    pairs, hour = ["ALGOUSDT", "FILUSDT", "NEARUSDT"], 3_600_000
    data = {s: read_candles_frame(BINANCE_MONTH[s]).iloc[: 2 * 1440].reset_index(drop=True) for s in pairs}
    start = int(data["FILUSDT"]["open_time"].iloc[0]) + 33 * hour  # picks: FIL, NEAR, NEAR, FIL
    plane, identity, workdir, _ = cluster
    url = migrated_db(workdir, "follow.db")
    doc = trading_bot(
        "follow", universe={"topByQuoteVolume": 1, "lookback": "1h", "refresh": "1h", "candidates": pairs}
    )
    del doc["spec"]["symbol"]  # (its backfill.start stays: no Job for a bot that follows its picks)
    shared = trading_bot("fil-one", symbol="FILUSDT")
    now = [start]
    fake = hourly_exchange(data, with_minutes=True)
    fake.now_ms = start
    db = connect(url)
    candles, trading = CandleStore(db), TradingStore(db)

    def collected() -> set[str]:
        found = get(plane, "Deployment") or []
        return {d["metadata"]["name"] for d in found if d["metadata"]["name"].startswith("collector-")}

    def wanted(collect: list[str]) -> set[str]:
        return {f"collector-binance-{s.lower()}-1m" for s in {*collect, "FILUSDT"}}

    with (
        served(fake),
        operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": url}),
    ):
        monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", fake.rest_url)
        trader = PortfolioTrader(parse_trading_bot(doc), candles, trading, clock=lambda: now[0])
        trader.start()  # before the first pick: nothing awake, nothing to collect
        apply(plane, [doc, shared])
        wait(lambda: get(plane, "TradingBot", "follow")["status"].get("collect") == [], "status.collect", 60)
        wait(lambda: collected() == wanted([]), "only the shared bot's collector", 30)
        assert not [j for j in get(plane, "Job") or [] if j["metadata"]["name"].startswith("follow-")]
        seen = [[]]
        for m in range(start, start + 4 * hour, 60_000):
            now[0] = fake.now_ms = m + 60_000  # minute m has closed
            for s in trading.bot("follow")["state"]["collect"]:  # what those collectors store
                frame = data[s]
                candles.upsert(make_key("binance", s, "1m"), frame_to_candles(frame[frame.open_time == m]))
            while trader.step():
                pass
            collect = trading.bot("follow")["state"]["collect"]
            if collect != seen[-1]:  # the cluster follows before the next minute
                seen.append(collect)
                said = lambda c=collect: get(plane, "TradingBot", "follow")["status"]["collect"] == c  # noqa: E731
                wait(said, f"status.collect {collect}", 30)
                wait(lambda c=collect: collected() == wanted(c), f"the collectors of {collect}", 30)
        assert trader.cursor == start + 4 * hour - 60_000
        assert trader.universe() == [
            (start, ["FILUSDT"]),
            (start + hour, ["NEARUSDT"]),
            (start + 3 * hour, ["FILUSDT"]),
            (start + 4 * hour, ["FILUSDT"]),  # the latest refresh: picked as its time came
        ]
        assert ["NEARUSDT"] in seen and seen[-1] == ["FILUSDT"]  # NEAR's collector came and went
        assert all("ALGOUSDT" not in c for c in seen)
        kubectl(plane, "delete", "tradingbot", "follow", "fil-one", "--wait=true", "--timeout=60s")
        wait(lambda: collected() == set(), "every collector gone with its bots", 90)
    db.dispose()


BROKEN = "from botrader.core.strategy import Strategy\n\nclass Mine(Strategy)\n    pass\n"
FIXED = (
    "from botrader.core.strategy import Strategy\n\n"
    "class Mine(Strategy):\n    def on_candle(self, candle, ind, account):\n        return None\n"
)


def run_trader_pod(plane, mount: Path, db_url: str, workdir: Path) -> subprocess.CompletedProcess:
    """The trader container's command, run here as its kubelet would (kwok only pretends):
    the bot's ConfigMap at /config and the strategy's at /strategies as local folders."""
    pod = get(plane, "Deployment", "mine-trader")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {v["name"]: v.get("configMap", {}).get("name") for v in pod["volumes"]} == {
        "tmp": None,
        "config": "mine-config",
        "strategy": "strategies",
    }
    assert {"name": "strategy", "mountPath": "/strategies", "readOnly": True} in container["volumeMounts"]
    doc = get(plane, "ConfigMap", "mine-config")["data"]["bot.yaml"].replace("/strategies/", f"{mount}/")
    (workdir / "bot.yaml").write_text(doc)
    args = [a if a != "/config/bot.yaml" else str(workdir / "bot.yaml") for a in container["args"]]
    args = [*args[: args.index("--port")], "--port", "0", "--db", db_url, "--until-caught-up"]
    return subprocess.run(
        [sys.executable, "-m", "botrader.core", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_a_strategy_from_a_configmap_and_a_broken_one_failing_the_bot(cluster) -> None:
    """The operator mounts the ConfigMap's file into the trader and points the trader at it;
    when the file does not import, the real trader command writes why and the bot becomes
    Failed with StrategyReady=False carrying that one line, a Warning Event, and the trader
    held at zero replicas — no crash loop. Fixing the ConfigMap rolls the trader. Before any
    trader migrated the database, the status goes on (TradingSummaryStale)."""
    from tests.support.paths import SAMPLE

    plane, identity, workdir, _ = cluster
    mount = workdir / "strategies"
    mount.mkdir()
    db_url = f"sqlite:///{workdir / 'strategies.db'}"
    strategies = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "strategies", "namespace": "default"},
    }
    apply(plane, [{**strategies, "data": {"mine.py": BROKEN}}])
    mine = trading_bot(
        "mine",
        source="replay",
        replay={"path": str(SAMPLE), "speed": 0},
        strategy={
            "type": "custom",
            "ref": "mine.py:Mine",
            "source": {"configMap": "strategies", "key": "mine.py"},
        },
    )
    mine["spec"].pop("backfill", None)
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": db_url}):
        apply(plane, [mine])
        trader = wait(lambda: get(plane, "Deployment", "mine-trader"), "the trader")
        first = trader["spec"]["template"]["metadata"]["annotations"]["botrader.io/strategy-hash"]
        assert "ref: /strategies/mine.py:Mine" in get(plane, "ConfigMap", "mine-config")["data"]["bot.yaml"]

        def stale() -> dict:
            found = conditions(plane, "TradingBot", "mine").get("TradingSummaryStale", {})
            return found if found.get("status") == "True" else {}

        assert "no such table: bots" in wait(stale, "status despite an unmigrated database")["message"]
        (mount / "mine.py").write_text(BROKEN)
        done = run_trader_pod(plane, mount, db_url, workdir)
        assert done.returncode == 2 and "cannot import strategy file" in done.stderr, done.stderr

        def failed() -> dict:
            found = conditions(plane, "TradingBot", "mine").get("StrategyReady", {})
            return (
                found
                if found.get("status") == "False" and phase(plane, "TradingBot", "mine") == "Failed"
                else {}
            )

        ready = wait(failed, "Failed with StrategyReady=False")
        assert ready["reason"] == "StrategyInvalid" and "cannot import strategy file" in ready["message"]
        assert "(line 3)" in ready["message"] and "\n" not in ready["message"]
        wait(lambda: get(plane, "Deployment", "mine-trader")["spec"]["replicas"] == 0, "held at zero")
        warnings = [e for e in get(plane, "Event") if e.get("reason") == "StrategyInvalid"]
        assert warnings and warnings[0]["type"] == "Warning"

        patch(plane, "ConfigMap", "strategies", {"data": {"mine.py": FIXED}})

        def rolled() -> bool:
            t = get(plane, "Deployment", "mine-trader")
            hash_now = t["spec"]["template"]["metadata"]["annotations"]["botrader.io/strategy-hash"]
            return t["spec"]["replicas"] == 1 and hash_now != first

        wait(rolled, "the edited file rolls the trader")
        (mount / "mine.py").write_text(FIXED)
        assert run_trader_pod(plane, mount, db_url, workdir).returncode == 0
        kubectl(plane, "delete", "tradingbot", "mine", "--wait=true")


def test_a_status_patch_at_an_old_resource_version_is_refused(cluster) -> None:
    """What following the trader relies on: the server refuses a merge patch whose
    metadata.resourceVersion is not the object's (409), and applies one that is."""
    import urllib.error

    plane, *_ = cluster
    apply(plane, [trading_bot("btc-versioned")])
    path = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots/btc-versioned/status"
    first = get(plane, "TradingBot", "btc-versioned")["metadata"]["resourceVersion"]
    merge = "application/merge-patch+json"
    plane.raw(
        "PATCH", path, {"metadata": {"resourceVersion": first}, "status": {"phase": "Pending"}}, None, merge
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        plane.raw(
            "PATCH",
            path,
            {"metadata": {"resourceVersion": first}, "status": {"phase": "Running"}},
            None,
            merge,
        )
    assert refused.value.code == 409
    assert get(plane, "TradingBot", "btc-versioned")["status"]["phase"] == "Pending"
    kubectl(plane, "delete", "tradingbot", "btc-versioned")


@pytest.mark.slow
def test_secrets_appear_in_no_log_event_status_or_description(cluster) -> None:
    """A known password in the database URL the operator and the bots use, a known Binance
    secret, and a venue bot's known testnet key: the operator's log, every Event, the
    TradingBot's status, `kubectl describe` of the bots, their traders and pods, and the
    children's specs hold none (pods get them by secretKeyRef; the venue's keys as files of
    its Secret mounted read-only, the environment holding only the directory)."""
    plane, identity, workdir, _ = cluster
    password, binance, venue_key = "pw-KNOWN-7f3a9", "bn-KNOWN-0c41e", "vk-KNOWN-5d2b8"
    url = f"postgresql://bot:{password}@127.0.0.1:1/botrader"  # unreachable: the operator says so

    def secret(name: str, data: dict[str, str]) -> dict:
        meta = {"name": name, "namespace": "default"}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": data}

    secrets = [
        secret("botrader-db", {"url": url}),
        secret("botrader-binance", {"api-key": "k", "api-secret": binance}),
        secret("binance-testnet", {"apiKey": "testnet-key", "secretKey": venue_key}),
    ]
    apply(plane, secrets)
    venue = {"type": "binance-testnet", "credentials": {"secret": "binance-testnet"}}
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": url}) as proc:
        apply(plane, [trading_bot("btc-secret"), trading_bot("btc-venue", venue=venue)])
        wait_phase(plane, "TradingBot", "btc-secret", "Running", 90)
        wait_phase(plane, "TradingBot", "btc-venue", "Running", 90)
        pod = get(plane, "Deployment", "btc-venue-trader")["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounted = {v["name"]: v for v in pod["volumes"]}["venue-credentials"]
        assert mounted["secret"] == {"secretName": "binance-testnet", "defaultMode": 0o440}
        assert {"name": "venue-credentials", "mountPath": builders.VENUE_KEYS_DIR, "readOnly": True} in (
            container["volumeMounts"]
        )
        env = {e["name"]: e for e in container["env"]}
        assert env["BOTRADER_VENUE_CREDENTIALS_DIR"]["value"] == builders.VENUE_KEYS_DIR
        # the summary marked stale: the database cannot be read
        wait_condition(plane, "TradingBot", "btc-secret", "TradingSummaryStale", "True")
        seen = [
            proc.log_path.read_text(errors="replace"),  # type: ignore[attr-defined]
            kubectl(plane, "get", "events", "-A", "-o", "yaml"),
            kubectl(plane, "get", "tradingbot", "btc-secret", "-o", "yaml"),
            kubectl(plane, "describe", "tradingbot", "btc-secret"),
            kubectl(plane, "describe", "deployment", "btc-secret-trader"),
            kubectl(plane, "describe", "tradingbot", "btc-venue"),
            kubectl(plane, "describe", "deployment", "btc-venue-trader"),
            kubectl(plane, "describe", "pods", "-n", "default"),
            kubectl(plane, "get", "deployments,configmaps,services,pods", "-o", "yaml"),
        ]
        kubectl(plane, "delete", "tradingbot", "btc-secret", "btc-venue", "--wait=true", "--timeout=60s")
    assert "127.0.0.1:1" in seen[0] or "stale" in seen[2].lower()  # the failure was reported…
    assert "binance-testnet" in seen[7]  # the venue's Secret is named where it is mounted…
    for text in seen:
        assert password not in text and binance not in text and venue_key not in text  # …never shown
    kubectl(plane, "delete", "secret", "botrader-db", "botrader-binance", "binance-testnet", "-n", "default")
