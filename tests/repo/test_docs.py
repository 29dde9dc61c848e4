"""docs/architecture.md is the source of truth for the contracts, so it must name what the
code has: every command, every CRD field, every endpoint and every metric. A new one that is
not documented fails here, naming it."""

from __future__ import annotations

import re
from typing import Any

import typer

from botrader.core.cli.main import default_app
from botrader.core.crds import openapi_schema
from tests.support.paths import REPO

DOC = (REPO / "docs" / "architecture.md").read_text()
METRIC = re.compile(r"""["'](botrader_[a-z_]+)["']""")


def _command_paths(group: Any, prefix: str = "botrader") -> list[str]:
    out = []
    for name, cmd in getattr(group, "commands", {}).items():
        out.append(f"{prefix} {name}")
        out += _command_paths(cmd, f"{prefix} {name}")
    return out


def _fields(schema: dict[str, Any], path: str) -> list[str]:
    out = []
    for name, sub in schema.get("properties", {}).items():
        out.append(name)
        out += _fields(sub, f"{path}.{name}")
        out += _fields(sub.get("items", {}), f"{path}.{name}[]")
    return out


def test_every_command_is_documented() -> None:
    missing = [p for p in _command_paths(typer.main.get_command(default_app())) if f"`{p}" not in DOC]
    assert missing == []


def test_every_crd_field_is_documented() -> None:
    missing = []
    for kind in ("TradingBot", "TrainingRun", "OptimizationRun"):
        props = openapi_schema(kind)["properties"]
        for part in ("spec", "status"):
            for name in _fields(props[part], part):
                if f"`{name}`" not in DOC and not re.search(rf"[.`]{re.escape(name)}[`.\s\[]", DOC):
                    missing.append(f"{kind}.{part}: {name}")
    hyper = openapi_schema("TrainingRun")["properties"]["spec"]["properties"]["hyperparameters"]
    missing = [m for m in missing if m.split(": ")[1] not in hyper["properties"]]  # documented as a rule
    assert missing == []


def test_every_endpoint_is_documented() -> None:
    from botrader.core.db import connect
    from botrader.services.api.main import create_app

    app = create_app(connect("sqlite://"))
    paths = [p for p in app.openapi()["paths"] if p not in ("/docs", "/openapi.json")]
    literal = [re.sub(r"/\{[a-z]+\}$", "", p) for p in paths]  # /bots/{name}/{action}: the verbs are listed
    missing = [p for p in literal if p and not any(form in DOC for form in (f"`GET {p}", f"{p}`", f"{p},"))]
    assert missing == []


def test_every_metric_is_documented() -> None:
    names = set()
    for root in ("core", "services", "jobs", "operator"):
        for source in (REPO / root / "src").rglob("*.py"):
            names |= set(METRIC.findall(source.read_text()))
    missing = sorted(n for n in names if n not in DOC)
    assert missing == []
