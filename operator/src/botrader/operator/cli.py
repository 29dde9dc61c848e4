"""`botrader operator`: the Kopf operator for TradingBot and TrainingRun resources."""

from __future__ import annotations

import re
import socket
from typing import Annotated

import typer

from botrader.operator.preflight import PEERING


def operator(
    namespace: Annotated[
        list[str] | None, typer.Option(help="Watch these namespaces (default: all).")
    ] = None,
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics port.")] = 9103,
    liveness: Annotated[str, typer.Option(help="Kopf liveness endpoint.")] = "http://0.0.0.0:8080/healthz",
    standalone: Annotated[bool, typer.Option(help="No peering: for a single replica, or tests.")] = False,
    priority: Annotated[
        int, typer.Option(help="Peering priority: of two operators, the higher one acts.")
    ] = 100,
    priority_from_ordinal: Annotated[
        bool,
        typer.Option(help="Subtract the StatefulSet ordinal (hostname suffix -N): replicas never tie."),
    ] = False,
) -> None:
    """Run the operator (kubeconfig or in-cluster credentials)."""
    import kopf.cli
    from prometheus_client import start_http_server

    from botrader.core.errors import UserError
    from botrader.operator.preflight import api_status, peering_problem

    if not standalone and (problem := peering_problem(api_status, namespace)):
        raise UserError(problem)
    if priority_from_ordinal:
        priority -= ordinal(socket.gethostname())
    start_http_server(metrics_port)
    args = ["run", f"--liveness={liveness}", "-m", "botrader.operator.handlers"]
    args += ["--standalone"] if standalone else ["--peering", PEERING, "--priority", str(priority)]
    args += [f"--namespace={ns}" for ns in namespace] if namespace else ["--all-namespaces"]
    kopf.cli.main(args=args, prog_name="botrader operator")


def ordinal(hostname: str) -> int:
    """A StatefulSet pod's ordinal (`botrader-operator-1` → 1); 0 for other names. Kopf freezes
    every operator when two share the highest priority, so replicas must differ."""
    found = re.search(r"-(\d+)$", hostname)
    return int(found.group(1)) if found else 0
