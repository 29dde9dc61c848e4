"""Builds Botrader's Grafana dashboards as JSON (dashboards as code, like grafonnet, in Python).

Writes `grafana/dashboards/*.json` and the Helm chart's copies (`charts/botrader/dashboards/`,
which must be inside the chart for `.Files.Glob`). `--check` exits 1 when a committed file
differs from what this script builds. Conventions (Grafana's dashboard linter): fixed `uid`,
`id: null`, one `datasource` variable used by every panel, `$__rate_interval` in every
`rate`/`increase`, no hard-coded datasource ids.

    python grafana/build_dashboards.py          # rewrite
    python grafana/build_dashboards.py --check  # CI: are the committed files current?
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = (ROOT / "grafana" / "dashboards", ROOT / "charts" / "botrader" / "dashboards")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"


def target(expr: str, legend: str = "", ref: str = "A") -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend or "__auto", "refId": ref}


def panel(
    title: str,
    targets: list[dict[str, Any]],
    *,
    kind: str = "timeseries",
    unit: str = "short",
    width: int = 12,
    height: int = 8,
    description: str = "",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    refs = "ABCDEFGH"
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": options or {},
        "targets": [{**t, "refId": refs[i]} for i, t in enumerate(targets)],
    }


def variable(name: str, query: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query,
        "refresh": 2,
        "includeAll": False,
        "multi": False,
        "sort": 1,
        "current": {},
        "options": [],
    }


def dashboard(
    uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]] = ()
) -> dict:
    x = y = row_height = 0
    for i, p in enumerate(panels, start=1):  # lay panels left to right, wrapping at 24 columns
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        p["id"], p["gridPos"] = i, {"x": x, "y": y, "w": w, "h": h}
        x, row_height = x + w, max(row_height, h)
    datasource_var = {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "options": [],
        "refresh": 1,
    }
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "tags": ["botrader"],
        "timezone": "utc",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [datasource_var, *variables]},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": ["botrader"], "title": "Botrader", "asDropdown": True}],
        "panels": panels,
    }


def candlestick(selector: str) -> dict[str, Any]:
    legs = [target(f'max by (ohlc) (botrader_candle_price{{{selector}ohlc="{f}"}})', f) for f in OHLC]
    return panel(
        "Price",
        legs,
        kind="candlestick",
        unit="currencyUSD",
        width=24,
        height=10,
        description="OHLC of the newest closed candle, per scrape",
        options={"mode": "candles", "candleStyle": "candles", "colorStrategy": "open-close"},
    )


OHLC = ("open", "high", "low", "close")


def overview() -> dict[str, Any]:
    return dashboard(
        "botrader-overview",
        "Botrader / Overview",
        [
            candlestick('symbol="$symbol", '),
            panel(
                "Bot phases",
                [target("max by (bot, phase) (botrader_bot_phase) == 1", "{{bot}}: {{phase}}")],
                kind="stat",
                options={"textMode": "name", "colorMode": "background"},
                width=8,
            ),
            panel("Positions", [target("botrader_bot_position", "{{bot}} {{symbol}}")], width=8),
            panel("Equity", [target("botrader_bot_equity", "{{bot}}")], unit="currencyUSD", width=8),
            panel(
                "Return",
                [target("botrader_bot_return_ratio", "{{bot}}")],
                unit="percentunit",
                width=12,
            ),
            panel(
                "API p99 latency",
                [
                    target(
                        "histogram_quantile(0.99, sum by (le, route) "
                        f"(rate(botrader_api_request_duration_seconds_bucket[{RATE}])))",
                        "{{route}}",
                    )
                ],
                unit="s",
                width=12,
            ),
        ],
        [variable("symbol", "label_values(botrader_candle_price, symbol)", "Symbol")],
    )


def bot_detail() -> dict[str, Any]:
    bot = 'bot="$bot"'
    return dashboard(
        "botrader-bot",
        "Botrader / Bot",
        [
            panel("Equity", [target(f"botrader_bot_equity{{{bot}}}", "equity")], unit="currencyUSD"),
            panel(
                "Drawdown", [target(f"botrader_bot_drawdown_ratio{{{bot}}}", "drawdown")], unit="percentunit"
            ),
            panel(
                "Trades",
                [target(f"sum by (side) (increase(botrader_trades_total{{{bot}}}[{RATE}]))", "{{side}}")],
                width=8,
            ),
            panel("Position", [target(f"botrader_bot_position{{{bot}}}", "{{symbol}}")], width=8),
            panel(
                "Circuit breakers",
                [target(f"max by (breaker) (botrader_circuit_breaker_open{{{bot}}})", "{{breaker}}")],
                kind="state-timeline",
                width=8,
            ),
            panel(
                "Decision latency",
                [
                    target(
                        f"histogram_quantile({q}, sum by (le) "
                        f"(rate(botrader_decision_latency_seconds_bucket{{{bot}}}[{RATE}])))",
                        f"p{int(q * 100)}",
                    )
                    for q in (0.5, 0.99)
                ],
                unit="s",
                width=24,
            ),
            *perpetual_panels(bot),
            *venue_panels(bot),
        ],
        [variable("bot", "label_values(botrader_bot_equity, bot)", "Bot")],
    )


def perpetual_panels(bot: str) -> list[dict[str, Any]]:
    """A perpetual bot's funding and margin (0 for spot bots)."""
    return [
        panel(
            "Funding received (+) or paid (−)",
            [target(f"botrader_bot_funding{{{bot}}}", "funding")],
            unit="currencyUSD",
            width=12,
            description="Cumulative funding of a USD-M perpetual bot, in the quote asset.",
        ),
        panel(
            "Margin ratio (1: liquidated)",
            [target(f"botrader_bot_margin_ratio{{{bot}}}", "margin ratio")],
            unit="percentunit",
            width=12,
            description="Maintenance margin / margin balance of the open position, as Binance shows it.",
        ),
    ]


def venue_panels(bot: str) -> list[dict[str, Any]]:
    """A venue bot's execution against its paper shadow (empty for paper bots)."""
    slippage = f"rate(botrader_venue_slippage_bps_bucket{{{bot}}}[{RATE}])"
    return [
        panel(
            "Venue vs paper: slippage per decision (bps, positive: worse for the bot)",
            [
                target(f"histogram_quantile({q}, sum by (le) ({slippage}))", f"p{int(q * 100)}")
                for q in (0.5, 0.9, 0.99)
            ],
            width=12,
            description="The venue's average price against the paper engine's for the same decision.",
        ),
        panel(
            "Venue orders by state",
            [target(f"sum by (state) (increase(botrader_venue_orders_total{{{bot}}}[{RATE}]))", "{{state}}")],
            width=12,
        ),
        panel(
            "Venue request weight (per minute)",
            [target(f"botrader_venue_request_weight{{{bot}}}", "weight")],
            width=8,
        ),
        panel(
            "Fills by the stream and by reconciliation",
            [
                target(f"increase(botrader_venue_stream_events_total{{{bot}}}[{RATE}])", "stream events"),
                target(
                    f"increase(botrader_venue_reconcile_fills_total{{{bot}}}[{RATE}])", "missed, reconciled"
                ),
            ],
            width=8,
        ),
        panel(
            "Reconciliation time",
            [
                target(
                    f"histogram_quantile(0.99, sum by (le) "
                    f"(rate(botrader_venue_reconcile_seconds_bucket{{{bot}}}[{RATE}])))",
                    "p99",
                )
            ],
            unit="s",
            width=8,
        ),
    ]


def market_data() -> dict[str, Any]:
    by = "symbol, interval"
    return dashboard(
        "botrader-market-data",
        "Botrader / Market data",
        [
            panel(
                "Ingestion rate",
                [
                    target(
                        f"sum by ({by}) (rate(botrader_candles_ingested_total[{RATE}]))",
                        "{{symbol}} {{interval}}",
                    )
                ],
                unit="ops",
            ),
            panel(
                "Lag (close to commit)",
                [target(f"max by ({by}) (botrader_collector_lag_seconds)", "{{symbol}} {{interval}}")],
                unit="s",
            ),
            panel(
                "Data age",
                [
                    target(
                        f"time() - max by ({by}) (botrader_collector_last_candle_close_timestamp_seconds)",
                        "{{symbol}} {{interval}}",
                    )
                ],
                unit="s",
                width=8,
            ),
            panel(
                "Reconnects",
                [
                    target(
                        f"sum by (symbol) (increase(botrader_collector_reconnects_total[{RATE}]))",
                        "{{symbol}}",
                    )
                ],
                width=8,
            ),
            panel(
                "Gaps filled over REST",
                [
                    target(
                        f"sum by ({by}) (increase(botrader_collector_gaps_filled_total[{RATE}]))",
                        "{{symbol}} {{interval}}",
                    )
                ],
                width=8,
            ),
            panel(
                "Write latency p99",
                [
                    target(
                        "histogram_quantile(0.99, sum by (le) "
                        f"(rate(botrader_collector_write_latency_seconds_bucket[{RATE}])))",
                        "p99",
                    )
                ],
                unit="s",
                width=24,
            ),
        ],
    )


def training() -> dict[str, Any]:
    run = 'run="$run"'
    return dashboard(
        "botrader-training",
        "Botrader / Training",
        [
            panel(
                "Episode return", [target(f"botrader_training_episode_return{{{run}}}", "budget {{budget}}")]
            ),
            panel(
                "Validation Sharpe",
                [target(f"botrader_training_validation_sharpe{{{run}}}", "budget {{budget}}")],
            ),
            panel(
                "Steps per second",
                [target(f"botrader_training_steps_per_second{{{run}}}", "budget {{budget}}")],
                unit="ops",
            ),
            panel(
                "Environment steps",
                [
                    target(
                        f"sum by (budget) (botrader_training_env_steps_total{{{run}}})", "budget {{budget}}"
                    )
                ],
            ),
        ],
        [variable("run", "label_values(botrader_training_env_steps_total, run)", "Run")],
    )


def operator() -> dict[str, Any]:
    return dashboard(
        "botrader-operator",
        "Botrader / Operator",
        [
            panel(
                "Reconciles",
                [
                    target(
                        f"sum by (kind, result) (rate(botrader_reconcile_total[{RATE}]))",
                        "{{kind}} {{result}}",
                    )
                ],
                unit="ops",
            ),
            panel(
                "Reconcile errors",
                [
                    target(
                        f'sum by (kind) (increase(botrader_reconcile_total{{result="error"}}[{RATE}]))',
                        "{{kind}}",
                    )
                ],
            ),
            panel(
                "Reconcile latency p99",
                [
                    target(
                        "histogram_quantile(0.99, sum by (le, kind) "
                        f"(rate(botrader_reconcile_duration_seconds_bucket[{RATE}])))",
                        "{{kind}}",
                    )
                ],
                unit="s",
            ),
            panel(
                "Resources by phase",
                [target("sum by (kind, phase) (botrader_resource_phase)", "{{kind}} {{phase}}")],
            ),
        ],
    )


DASHBOARDS = {
    "overview.json": overview,
    "bot.json": bot_detail,
    "market-data.json": market_data,
    "training.json": training,
    "operator.json": operator,
}


def render() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2, sort_keys=True) + "\n" for name, build in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    check, stale = "--check" in argv, []
    for name, text in render().items():
        for folder in OUTPUTS:
            path = folder / name
            if check:
                if not path.exists() or path.read_text() != text:
                    stale.append(str(path.relative_to(ROOT)))
            else:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if stale:
        print("out of date (run python grafana/build_dashboards.py):", ", ".join(stale), file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
