"""Dashboards and alert rules, statically: the committed dashboards are what the generator
builds, they follow Grafana's dashboard-linter rules, every metric they and the rules name is
exported by some component, and the rules pass `promtool check` and `promtool test`.
(tests/e2e/test_observability.py runs every expression against a real Prometheus.)"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from tests.support.paths import REPO

DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
RULES = REPO / "charts" / "botrader" / "files" / "prometheus-rules.yaml"
METRIC_MODULES = [
    "botrader.services.collector.metrics",
    "botrader.services.trader.metrics",
    "botrader.services.api.metrics",
    "botrader.operator.metrics",
    "botrader.jobs.train.metrics",
]
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}


def exported_series() -> set[str]:
    """Sample names the components' metric families produce (prometheus-client conventions)."""
    names = set()
    for module in METRIC_MODULES:
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, MetricWrapperBase):
                for family in value.describe():
                    names |= {family.name + s for s in SUFFIXES[family.type]}
    return names


def panel_targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def expressions() -> Iterator[tuple[str, str]]:
    for path in DASHBOARDS:
        for panel, target in panel_targets(json.loads(path.read_text())):
            yield f"{path.name}: {panel['title']}", target["expr"]
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule['alert']}", rule["expr"]


def test_committed_dashboards_are_what_the_generator_builds() -> None:
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), str(REPO / "grafana" / "build_dashboards.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in DASHBOARDS] == [
        "bot.json",
        "market-data.json",
        "operator.json",
        "overview.json",
        "training.json",
    ]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_follows_the_linter_rules(path: Path) -> None:
    board = json.loads(path.read_text())
    assert board["id"] is None and 8 <= len(board["uid"]) <= 40
    variables = board["templating"]["list"]
    sources = [v for v in variables if v["type"] == "datasource"]
    assert [v["name"] for v in sources] == ["datasource"] and sources[0]["query"] == "prometheus"
    for v in variables:
        if v["type"] == "query":
            assert v["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    for panel, target in panel_targets(board):
        assert panel["datasource"]["uid"] == "${datasource}" == target["datasource"]["uid"], panel["title"]
        for window in re.findall(r"\b(?:rate|irate|increase)\([^\[]*\[([^\]]+)\]", target["expr"]):
            assert window == "$__rate_interval", f"{panel['title']}: [{window}]"
    assert '"datasource": 1' not in path.read_text() and '"datasourceId"' not in path.read_text()
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_every_metric_named_is_exported_by_a_component() -> None:
    exported = exported_series()
    assert "botrader_trades_total" in exported and "botrader_decision_latency_seconds_bucket" in exported
    for where, expr in expressions():
        for name in re.findall(r"\bbotrader_[a-z_]+\b", expr):
            assert name in exported, f"{where} names {name}, which no component exports"


def test_rules_pass_promtool_check_and_unit_tests() -> None:
    check = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        ["promtool", "test", "rules", str(REPO / "tests" / "prometheus" / "rules.test.yaml")],
        capture_output=True,
        text=True,
    )
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    tested = set(re.findall(r"alertname: (\w+)", (REPO / "tests/prometheus/rules.test.yaml").read_text()))
    assert alerts == tested, f"alerts without a unit test: {alerts - tested}"
