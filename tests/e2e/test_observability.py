"""The proof for dashboards and alerts: the real services run as separate processes — collector
on replay, trader, API, a short PPO training, and the operator reconciling a TradingBot and a
TrainingRun on the real test control plane (kwok runs the trader's pod; the training Job's pod
fails, so the failed-run alert has data) — and a real Prometheus scrapes them all on
loopback; the trader's orders go to the Spot Testnet stand-in, so the venue panels have data
too. Then every PromQL expression from every dashboard and rule file is sent to it: each
must parse, and each dashboard panel's query must return data over the run."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

from botrader.core.engine.units import MarketRules
from tests.deploy.test_observability import DASHBOARDS, RULES, panel_targets
from tests.support.binance_spot import SpotStandIn, latest_close
from tests.support.cluster import apply, get_path, kubectl, wait
from tests.support.paths import REPO, SAMPLE
from tests.support.servers import PrometheusServer, free_port, wait_for_port

BOTRADER = str(Path(sys.executable).with_name("botrader"))
VARIABLES = {"$__rate_interval": "15s", "$bot": "btc-replay", "$run": "e2e", "$symbol": "BTCUSDT"}
NS = "observe"


def spawn(args: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [BOTRADER, *args], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=cwd
    )


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def operator_world(plane: Any) -> None:
    """A TradingBot and a TrainingRun for the operator to reconcile, in a namespace of their
    own. The run is named `doomed`: kwok fails the pods of Job `doomed-train`
    (tests/support/kwok-stages.yaml), so the run ends Failed and the phase alert has data."""
    kubectl(plane, "apply", "-f", str(REPO / "crds"))
    kubectl(plane, "create", "namespace", NS)
    docs = []
    for example in ("tradingbot-replay.yaml", "trainingrun-btc.yaml"):
        doc = yaml.safe_load((REPO / "examples" / example).read_text())
        doc["metadata"]["namespace"] = NS
        docs.append(doc)
    docs[1]["metadata"]["name"] = "doomed"
    apply(plane, docs)


def run_phase(plane: Any, name: str) -> str | None:
    found = get_path(plane, f"/apis/botrader.io/v1alpha1/namespaces/{NS}/trainingruns/{name}")
    return ((found or {}).get("status") or {}).get("phase")


async def query(prom: httpx.AsyncClient, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    response = await prom.get(
        "/api/v1/query_range", params={"query": expr, "start": start, "end": end, "step": "1s"}
    )
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", f"{expr}: {body.get('error')}"
    return body["data"]["result"]


@pytest.mark.slow
@pytest.mark.prometheus
async def test_every_dashboard_query_returns_data_from_the_real_services(
    tmp_path: Path, real_candles: pd.DataFrame, control_plane: Any
) -> None:
    ports = {name: free_port() for name in ("collector", "trader", "api", "operator", "training", "liveness")}
    db = f"sqlite:///{tmp_path / 'botrader.db'}"
    training_data = tmp_path / "candles.parquet"
    real_candles.iloc[:8000].to_parquet(training_data)
    bot = tmp_path / "bot.yaml"
    manifest = yaml.safe_load((REPO / "examples" / "tradingbot-replay.yaml").read_text())
    manifest["spec"]["replay"]["path"] = str(SAMPLE)
    # its orders go to the Spot Testnet stand-in: the venue panels have data too
    manifest["spec"]["venue"] = {"type": "binance-testnet", "credentials": {"secret": "keys"}}
    bot.write_text(yaml.safe_dump(manifest))
    venue = SpotStandIn(market=MarketRules(), balances={"BTC": Decimal(0), "USDT": Decimal(100_000)})
    venue.price_source = lambda: latest_close(tmp_path / "botrader.db")
    venue.levels = 50
    venue.add_hmac_key("e2e-key", "e2e-secret")
    venue.start()
    prometheus = PrometheusServer([f"127.0.0.1:{p}" for n, p in ports.items() if n != "liveness"]).start()
    processes: list[subprocess.Popen[bytes]] = []
    await asyncio.to_thread(operator_world, control_plane)
    env = {
        **os.environ,
        "KUBECONFIG": str(control_plane.kubeconfig),
        "BOTRADER_DB_URL": db,
        "BOTRADER_STATUS_INTERVAL": "0.5",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "BOTRADER_VENUE_REST_URL": venue.url,
        "BOTRADER_VENUE_WS_API_URL": venue.ws_url,
        "BINANCE_API_KEY": "e2e-key",
        "BINANCE_API_SECRET": "e2e-secret",
    }
    began = time.time()
    try:
        logs = tmp_path
        processes += [
            spawn(
                [
                    "operator",
                    "--standalone",
                    f"--namespace={NS}",
                    f"--metrics-port={ports['operator']}",
                    f"--liveness=http://127.0.0.1:{ports['liveness']}/healthz",
                ],
                logs / "operator.log",
                env,
                tmp_path,
            ),
            spawn(
                ["api", "--db", db, "--port", str(ports["api"]), "--host", "127.0.0.1"],
                logs / "api.log",
                env,
                tmp_path,
            ),
            spawn(
                [
                    "trade",
                    "--bot",
                    str(bot),
                    "--db",
                    db,
                    "--port",
                    str(ports["trader"]),
                    "--poll-interval",
                    "0.2",
                ],
                logs / "trader.log",
                env,
                tmp_path,
            ),
            spawn(
                [
                    "train",
                    "--data",
                    str(training_data),
                    "--budgets",
                    "1000,10000",
                    "--timesteps",
                    "8192",
                    "--num-envs",
                    "16",
                    "--eval-every",
                    "1",
                    "--ray-address",
                    "none",
                    "--run-name",
                    "e2e",
                    "--metrics-port",
                    str(ports["training"]),
                    "--json",
                ],
                logs / "train.log",
                env,
                tmp_path,
            ),
        ]
        for name in ("trader", "api", "operator"):
            try:
                await asyncio.to_thread(wait_for_port, ports[name], 30)
            except TimeoutError:
                log = (logs / f"{name}.log").read_text()[-2000:]
                raise AssertionError(f"{name} did not listen: {log}") from None
        processes.append(
            spawn(
                [
                    "collect",
                    "--symbol",
                    "BTCUSDT",
                    "--source",
                    "replay",
                    "--replay-file",
                    str(SAMPLE),
                    "--speed",
                    "6000",
                    "--db",
                    db,
                    "--port",
                    str(ports["collector"]),
                ],
                logs / "collector.log",
                env,
                tmp_path,
            )
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['api']}", timeout=10) as api_client:
            collector = processes[-1]
            while collector.poll() is None and time.time() - began < 120:
                for path in ("/bots", "/bots/btc-replay", "/candles?symbol=BTCUSDT&limit=50", "/healthz"):
                    await api_client.get(path)
                await asyncio.sleep(0.5)
        trainer = processes[3]
        while trainer.poll() is None and time.time() - began < 180:
            await asyncio.sleep(0.5)
        assert trainer.returncode == 0, (logs / "train.log").read_text()[-2000:]
        try:  # the Job controller gives up after the backoff between its pods
            await asyncio.to_thread(
                wait, lambda: run_phase(control_plane, "doomed") == "Failed", "the doomed run failed", 150
            )
        except AssertionError as exc:
            job = get_path(control_plane, f"/apis/batch/v1/namespaces/{NS}/jobs/doomed-train")
            operator_log = (logs / "operator.log").read_text()[-3000:]
            raise AssertionError(f"{exc}\njob status: {(job or {}).get('status')}\n{operator_log}") from None
        await asyncio.sleep(2)  # a last scrape of the trader, the API and the operator
        end = time.time()
        await _every_expression_answers(prometheus, began, end, logs)
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                proc.kill()
        prometheus.stop()
        venue.stop()


async def _every_expression_answers(
    prometheus: PrometheusServer, began: float, end: float, logs: Path
) -> None:
    empty = []
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=30) as prom:
        for path in DASHBOARDS:
            for panel, target in panel_targets(json.loads(path.read_text())):
                if not await query(prom, substitute(target["expr"]), began, end):
                    empty.append(f"{path.name} / {panel['title']}: {target['expr']}")
            for variable in json.loads(path.read_text())["templating"]["list"]:
                if variable["type"] == "query":  # label_values(metric, label) must offer our value
                    metric, label = re.fullmatch(
                        r"label_values\((\w+), (\w+)\)", variable["definition"]
                    ).groups()
                    params = {"match[]": metric, "start": began, "end": end}
                    values = (await prom.get(f"/api/v1/label/{label}/values", params=params)).json()["data"]
                    if VARIABLES[f"${variable['name']}"] not in values:
                        empty.append(f"{path.name} / variable {variable['name']}: {values}")
        for group in yaml.safe_load(RULES.read_text())["groups"]:
            for rule in group["rules"]:
                await query(prom, rule["expr"], began, end)  # parses and evaluates; alerts may be quiet
        fired = await query(
            prom, 'botrader_resource_phase{kind="TrainingRun", phase="Failed"} == 1', began, end
        )
    tails = {p.name: p.read_text()[-600:] for p in logs.glob("*.log")}
    assert not empty, "panels without data:\n" + "\n".join(empty) + "\n" + json.dumps(tails, indent=1)
    assert fired, "the failed TrainingRun never showed as Failed in the operator's metrics"
