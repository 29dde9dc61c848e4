"""Human-facing backtest output: a summary table and a self-contained HTML chart (inline
SVG: equity, drawdown, trade markers) that opens anywhere with no network or JS."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from botrader.core.errors import UserError
from botrader.core.timeutil import format_ms

WIDTH, EQ_H, DD_H, PAD = 1100, 320, 120, 40


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:+.2%}"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"backtest: {summary['strategy']}", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("candles", f"{summary['candles']:,}"),
        ("trades (fills)", f"{summary['trades']:,}"),
        ("round trips", f"{summary['round_trips']:,}"),
        ("final equity", _num(summary["final_equity"])),
        ("total return", _pct(summary["total_return"])),
        ("buy & hold return", _pct(summary["buy_and_hold_return"])),
        ("Sharpe (daily, √365)", _num(summary["sharpe"])),
        ("Sortino (daily, √365)", _num(summary["sortino"])),
        ("max drawdown", _pct(-summary["max_drawdown"])),
        ("win rate", _pct(summary["win_rate"])),
        ("profit factor", _num(summary["profit_factor"])),
        ("average win", _num(summary["avg_win"])),
        ("average loss", _num(summary["avg_loss"])),
        ("exposure", _pct(summary["exposure"])),
        ("turnover (× mean equity)", _num(summary["turnover"], 1)),
        ("fees paid", _num(summary["fees"])),
        *_market_rows(summary),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _market_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """A perpetual's own lines (a spot backtest's table reads as it always did)."""
    if summary.get("market", "spot") == "spot":
        return []
    return [
        ("market", f"{summary['market']} {summary['leverage']}x isolated"),
        ("funding (received − paid)", _num(summary["funding"])),
        ("liquidations", f"{summary['liquidations']:,}"),
    ]


def _polyline(xs: np.ndarray, ys: np.ndarray, top: float, height: float, lo: float, hi: float) -> str:
    span = hi - lo or 1.0
    px = PAD + xs * (WIDTH - 2 * PAD)
    py = top + height - (ys - lo) / span * height
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True))


def write_html(
    path: Path,
    times: np.ndarray,
    equity: np.ndarray,
    fills: list[dict[str, Any]],
    title: str,
    summary: dict[str, Any],
) -> None:
    if path.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"bad --plot {str(path)!r}: write an .html file (self-contained SVG chart)")
    n = len(equity)
    step = max(1, n // 2000)  # at most ~2000 points per line
    idx = np.arange(0, n, step)
    xs = idx / max(n - 1, 1)
    eq = equity[idx]
    dd = 1 - equity / np.maximum.accumulate(equity)
    equity_line = _polyline(xs, eq, PAD, EQ_H, eq.min(), eq.max())
    drawdown_line = _polyline(xs, -dd[idx], PAD + EQ_H + PAD, DD_H, -max(dd.max(), 1e-9), 0)
    lines = [
        f'<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{equity_line}"/>',
        f'<polyline fill="none" stroke="#dc2626" points="{drawdown_line}"/>',
    ]
    pos = {int(t): i for i, t in enumerate(times.tolist())}
    for fill in fills:
        i = pos.get(int(fill["time"]))
        if i is None:
            continue
        x = PAD + i / max(n - 1, 1) * (WIDTH - 2 * PAD)
        y = PAD + EQ_H - (equity[i] - eq.min()) / ((eq.max() - eq.min()) or 1.0) * EQ_H
        color, dy = ("#16a34a", 8) if fill["side"] == "buy" else ("#dc2626", -8)
        lines.append(
            f'<path d="M{x:.1f},{y:.1f} l-4,{dy} l8,0 z" fill="{color}"><title>{fill["side"]} '
            f"{fill['quantity']} @ {fill['price']}</title></path>"
        )
    stats = " · ".join(f"{k}: {html.escape(str(v))}" for k, v in summary.items() if k != "strategy")
    total_h = PAD * 3 + EQ_H + DD_H
    doc = f"""<!doctype html><meta charset="utf-8"><title>{html.escape(title)}</title>
<body style="font-family:system-ui,sans-serif;margin:24px">
<h2>{html.escape(title)}</h2><p style="font-size:13px;color:#444">{stats}</p>
<p style="font-size:13px">{format_ms(int(times[0]))} → {format_ms(int(times[-1]))} UTC ·
equity (blue, with buys ▲ and sells ▼) and drawdown (red)</p>
<svg width="{WIDTH}" height="{total_h}" style="border:1px solid #ddd">{"".join(lines)}</svg></body>"""
    path.write_text(doc)
