"""TrainingRuns on a real control plane: real Jobs whose pods kwok succeeds or fails, and a
RayJob where the cluster serves KubeRay's CRD."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.support.cluster import (
    apply,
    conditions,
    get,
    get_path,
    kubectl,
    operator_process,
    render,
    wait,
    wait_phase,
)
from tests.support.paths import REPO


@pytest.mark.slow
def test_training_runs_on_real_jobs(cluster) -> None:
    plane, identity, workdir, _ = cluster
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"]["namespace"] = "default"
    doomed = copy.deepcopy(run)
    doomed["metadata"]["name"] = "doomed"  # kwok fails the pods of Job doomed-train
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [run, doomed])
        wait_phase(plane, "TrainingRun", "btc-ppo", "Succeeded", 90)
        assert conditions(plane, "TrainingRun", "btc-ppo")["JobComplete"]["status"] == "True"
        wait_phase(plane, "TrainingRun", "doomed", "Failed", 120)
        failed = conditions(plane, "TrainingRun", "doomed")["JobComplete"]
        assert failed["status"] == "False" and failed["reason"] == "BackoffLimitExceeded", failed


RAYJOB_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "rayjobs.ray.io"},
    "spec": {
        "group": "ray.io",
        "scope": "Namespaced",
        "names": {"kind": "RayJob", "plural": "rayjobs", "singular": "rayjob", "listKind": "RayJobList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


@pytest.mark.slow
def test_a_training_run_becomes_a_rayjob_where_kuberay_is_served(cluster) -> None:
    """With KubeRay's CRD served (a stand-in for the CRD only: no KubeRay controller runs here)
    and the chart's role for kuberay.enabled, a TrainingRun is a RayJob, and its status
    follows the RayJob's jobDeploymentStatus as KubeRay would report it, failure reason and all."""
    import json

    plane, identity, workdir, _ = cluster
    apply(plane, [RAYJOB_CRD])
    kubectl(plane, "wait", "--for=condition=Established", "crd/rayjobs.ray.io", "--timeout=30s")
    apply(
        plane,
        [
            d
            for d in render("kuberay.enabled=true", show=("templates/operator/rbac.yaml",))
            if d["kind"] == "ClusterRole"
        ],
    )
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"] = {"name": "btc-ray", "namespace": "default"}
    try:  # the plane is shared: later tests must not find KubeRay served
        with operator_process(plane, identity, workdir, "--standalone"):
            apply(plane, [run])
            job = wait(
                lambda: get_path(plane, "/apis/ray.io/v1/namespaces/default/rayjobs/btc-ray-train"),
                "a RayJob",
            )
            assert (
                "botrader train" in job["spec"]["entrypoint"] and get(plane, "Job", "btc-ray-train") is None
            )
            failure = {
                "status": {"jobDeploymentStatus": "Failed", "reason": "AppFailed", "message": "exit code 1"}
            }
            kubectl(
                plane,
                "patch",
                "rayjob",
                "btc-ray-train",
                "--subresource=status",
                "--type=merge",
                "-p",
                json.dumps(failure),
            )
            wait_phase(plane, "TrainingRun", "btc-ray", "Failed")
            complete = conditions(plane, "TrainingRun", "btc-ray")["JobComplete"]
            assert (complete["status"], complete["reason"], complete["message"]) == (
                "False",
                "AppFailed",
                "exit code 1",
            )
            kubectl(plane, "delete", "trainingrun", "btc-ray", "--wait=true")
            search = yaml.safe_load((REPO / "examples" / "optimizationrun-rsi.yaml").read_text())
            search["metadata"] = {"name": "ray-search", "namespace": "default"}
            apply(plane, [search])
            found = wait(
                lambda: get_path(plane, "/apis/ray.io/v1/namespaces/default/rayjobs/ray-search-search"),
                "a RayJob for the search",
            )
            entry = found["spec"]["entrypoint"]
            assert entry.startswith("botrader optimize") and "--ray-address auto" in entry
            assert found["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2
            kubectl(plane, "delete", "optimizationrun", "ray-search", "--wait=true")
    finally:
        kubectl(plane, "delete", "crd", "rayjobs.ray.io", "--wait=true")
