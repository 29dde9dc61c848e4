"""Which line a bare `botrader operator` (with peering) says for each missing piece; the real
server's answers are in test_operator_replicas_and_rights_on_a_real_cluster.py."""

from __future__ import annotations

from botrader.operator.preflight import peering_problem


def server(*existing: str) -> object:
    """GET answers of a server that has exactly these paths."""
    return lambda path: 200 if path in existing else 404


def test_no_peering_crds_says_to_apply_them_first() -> None:
    problem = peering_problem(server(), None)
    assert problem and "kubectl apply -f crds/kopf.dev_peerings.yaml" in problem and "--standalone" in problem


def test_no_cluster_peering_object_names_it_and_both_ways_out() -> None:
    problem = peering_problem(server("/apis/kopf.dev/v1"), None)
    assert problem.startswith("no ClusterKopfPeering 'botrader'")
    assert "examples/operator-peering.yaml" in problem and "--standalone" in problem


def test_namespaced_operators_need_one_in_each_namespace() -> None:
    found = server("/apis/kopf.dev/v1", "/apis/kopf.dev/v1/namespaces/a/kopfpeerings/botrader")
    assert "namespace(s) b" in peering_problem(found, ["a", "b"])
    assert peering_problem(found, ["a"]) is None


def test_present_or_unknowable_is_left_to_kopf() -> None:
    assert (
        peering_problem(server("/apis/kopf.dev/v1", "/apis/kopf.dev/v1/clusterkopfpeerings/botrader"), None)
        is None
    )
    assert peering_problem(lambda path: 403, None) is None  # forbidden: Kopf names the verb
    assert peering_problem(lambda path: 0, None) is None  # unreachable: Kopf says so
