"""An OptimizationRun on a real control plane: its search runs in a Job and its honesty card
comes back into the status."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.support.cluster import (
    apply,
    conditions,
    get,
    kubectl,
    operator_process,
    wait,
    wait_phase,
)
from tests.support.paths import REPO


@pytest.mark.slow
def test_an_optimization_run_runs_its_search_in_a_job_and_carries_the_card(
    cluster, real_candles, tmp_path
) -> None:
    """OptimizationRun → a Job running exactly `optimize_command(spec)` → kwok completes its
    pod → the status carries progress, PBO, DSR, best parameters and the verdict from the
    search's MLflow run (a real `mlflow server`; the search itself ran here, with the very
    command line the Job's pod runs, since kwok's pods run nothing)."""
    import json

    from botrader.core.crds import validate
    from botrader.core.optimization_spec import optimize_command
    from tests.support.servers import MlflowServer

    plane, identity, workdir, _ = cluster
    data = tmp_path / "candles.parquet"
    real_candles.iloc[:6000].to_parquet(data)
    doc = yaml.safe_load((REPO / "examples" / "optimizationrun-rsi.yaml").read_text())
    doc["metadata"]["namespace"] = "default"
    doc["spec"].update(dataset={"path": str(data)}, trials=6)
    server = MlflowServer().start()
    try:
        command = optimize_command(
            "rsi-search", validate(doc)["spec"], ray_address="none", tracking_uri=server.url
        )
        done = subprocess.run(
            [sys.executable, "-m", "botrader.core", *command[1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        searched = json.loads(done.stdout)
        env = {"MLFLOW_TRACKING_URI": server.url}
        with operator_process(plane, identity, workdir, "--standalone", env=env):
            apply(plane, [doc])
            job = wait(lambda: get(plane, "Job", "rsi-search-search"), "the search Job")
            shell = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
            assert (
                shell.startswith("botrader optimize --strategy simple_rsi")
                and "--run-name rsi-search" in shell
            )
            wait_phase(plane, "OptimizationRun", "rsi-search", "Succeeded", 90)
            wait(lambda: "verdict" in get(plane, "OptimizationRun", "rsi-search")["status"], "the card")
            found = get(plane, "OptimizationRun", "rsi-search")["status"]
            assert found["phase"] == "Succeeded" and found["progress"] == "6/6"
            assert found["verdict"] == searched["verdict"]
            assert found["bestParams"] == searched["best"]["params"]
            assert found["pbo"] == pytest.approx(searched["pbo"])
            assert found["mlflowRunId"] == searched["mlflow_run_id"]
            assert conditions(plane, "OptimizationRun", "rsi-search")["CardAvailable"]["status"] == "True"
            header = kubectl(plane, "get", "opt").splitlines()[0].split()
            assert header == ["NAME", "PHASE", "TRIALS", "BEST", "PBO", "DSR", "AGE"]
            kubectl(plane, "delete", "optimizationrun", "rsi-search", "--wait=true")
    finally:
        server.stop()
