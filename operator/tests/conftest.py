"""The operator's real-cluster tests share one set-up on the session's control plane."""

from __future__ import annotations

import pytest

from tests.support.cluster import NS, apply, kubectl, render, service_account_kubeconfig
from tests.support.paths import REPO


@pytest.fixture(scope="session")
def cluster(control_plane, tmp_path_factory):
    """CRDs (with Kopf's peering CRDs, from the chart), the operator's namespace and the chart's
    operator RBAC applied; (plane, the operator's kubeconfig, a work folder, the RBAC objects)."""
    kubectl(control_plane, "apply", "-f", str(REPO / "crds"))
    kubectl(
        control_plane, "apply", "-f", str(REPO / "charts" / "botrader" / "crds" / "kopf.dev_peerings.yaml")
    )
    kubectl(control_plane, "create", "namespace", NS)
    rbac = render("operator.replicas=1", show=("templates/operator/rbac.yaml",))
    apply(control_plane, rbac)
    workdir = tmp_path_factory.mktemp("operator")
    identity = service_account_kubeconfig(
        control_plane, NS, "botrader-operator", workdir / "operator.kubeconfig"
    )
    return control_plane, identity, workdir, rbac
