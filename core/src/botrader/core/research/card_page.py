"""The honesty card as a page: the verdict, the figures, and four pictures that show where they
come from — the search's progress, the CSCV logits behind PBO, the trials' Sharpes against the
best that luck gives (behind DSR), and the winner on the held-out tail against buy-and-hold.
Self-contained HTML with inline SVG: opens anywhere, no network, no JavaScript."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from botrader.core.research.card import Card, pbo_blocks
from botrader.core.research.pbo import probability_of_overfitting
from botrader.core.research.sharpe import expected_max_sharpe, sharpe_of
from botrader.core.research.walk_forward import table as walk_table

W, H, PAD = 520, 220, 36
BLUE, RED, GREEN, GREY = "#2563eb", "#dc2626", "#16a34a", "#9ca3af"


def _scale(values: Sequence[float], lo: float, hi: float, start: float, length: float) -> list[float]:
    span = (hi - lo) or 1.0
    return [start + (v - lo) / span * length for v in values]


def _frame(title: str, body: list[str], x_label: str, y_label: str) -> str:
    axes = (
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 8}" y2="{H - PAD}" stroke="#555"/>'
        f'<line x1="{PAD}" y1="8" x2="{PAD}" y2="{H - PAD}" stroke="#555"/>'
        f'<text x="{W / 2}" y="{H - 8}" font-size="11" text-anchor="middle">{html.escape(x_label)}</text>'
        f'<text x="10" y="{H / 2}" font-size="11" transform="rotate(-90 10 {H / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>'
    )
    return (
        f'<figure style="margin:0"><figcaption style="font-weight:600">{html.escape(title)}</figcaption>'
        f'<svg width="{W}" height="{H}" style="border:1px solid #ddd">{axes}{"".join(body)}</svg></figure>'
    )


def _histogram(values: Sequence[float], bins: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    counts, edges = np.histogram(np.clip(values, lo, hi), bins=bins, range=(lo, hi))
    return counts, edges


def _bars(values: Sequence[float], lo: float, hi: float, color_of: Any) -> list[str]:
    counts, edges = _histogram(values, 30, lo, hi)
    top = max(int(counts.max()), 1)
    xs = _scale(list(edges), lo, hi, PAD, W - PAD - 8)
    out = []
    for i, count in enumerate(counts):
        height = count / top * (H - 2 * PAD - 8)
        middle = (edges[i] + edges[i + 1]) / 2
        out.append(
            f'<rect x="{xs[i]:.1f}" y="{H - PAD - height:.1f}" width="{max(xs[i + 1] - xs[i] - 1, 1):.1f}" '
            f'height="{height:.1f}" fill="{color_of(middle)}"><title>{count}</title></rect>'
        )
    return out


def _vline(x: float, lo: float, hi: float, color: str, label: str, row: int = 0) -> str:
    px = _scale([x], lo, hi, PAD, W - PAD - 8)[0]
    right = px > W * 0.7  # the label goes left of the line near the right edge
    at, anchor = (px - 3, "end") if right else (px + 3, "start")
    return (
        f'<line x1="{px:.1f}" y1="10" x2="{px:.1f}" y2="{H - PAD}" stroke="{color}" stroke-dasharray="4 3"/>'
        f'<text x="{at:.1f}" y="{20 + 14 * row}" font-size="11" fill="{color}" text-anchor="{anchor}">'
        f"{html.escape(label)} {x:.3g}</text>"
    )


def _y_range(lo: float, hi: float, pct: bool = False) -> str:
    def fmt(v: float) -> str:
        return f"{v - 1:+.1%}" if pct else f"{v:.3g}"

    return (
        f'<text x="{PAD + 4}" y="16" font-size="10" fill="#555">{fmt(hi)}</text>'
        f'<text x="{PAD + 4}" y="{H - PAD - 4}" font-size="10" fill="#555">{fmt(lo)}</text>'
    )


def _line(ys: Sequence[float], lo: float, hi: float, color: str) -> str:
    xs = _scale(list(range(len(ys))), 0, max(len(ys) - 1, 1), PAD, W - PAD - 8)
    py = _scale(list(ys), lo, hi, H - PAD, -(H - 2 * PAD - 8))
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, py, strict=True))
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>'


def search_chart(objectives: Sequence[float | None]) -> str:
    scored = [(i, v) for i, v in enumerate(objectives) if v is not None and math.isfinite(v)]
    if not scored:
        return _frame("The search", [], "trial", "objective")
    lo, hi = min(v for _, v in scored), max(v for _, v in scored)
    xs = _scale([i for i, _ in scored], 0, max(len(objectives) - 1, 1), PAD, W - PAD - 8)
    ys = _scale([v for _, v in scored], lo, hi, H - PAD, -(H - 2 * PAD - 8))
    dots = [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{GREY}"/>' for x, y in zip(xs, ys, strict=True)]
    best = list(np.maximum.accumulate([v for _, v in scored]))
    return _frame(
        "The search: each trial, and the best so far",
        [*dots, _line(best, lo, hi, BLUE), _y_range(lo, hi)],
        "trial",
        "objective",
    )


def pbo_chart(search: np.ndarray) -> str:
    blocks = pbo_blocks(search.shape[0])
    if not blocks or search.shape[1] < 2:
        return _frame("Overfitting (PBO): not enough periods or trials", [], "logit", "splits")
    found = probability_of_overfitting(search, blocks)
    bars = _bars(found.logits, -4.0, 4.0, lambda m: RED if m < 0 else GREEN)
    title = f"Overfitting: where the search-set winner ranks out of sample (PBO {found.pbo:.2f} = red share)"
    return _frame(
        title, [*bars, _vline(0.0, -4.0, 4.0, "#111", "median")], "logit of its out-of-sample rank", "splits"
    )


def luck_chart(search: np.ndarray, best: int) -> str:
    sharpes = [s for s in (sharpe_of(search[:, j]) for j in range(search.shape[1])) if math.isfinite(s)]
    if len(sharpes) < 2:
        return _frame("Luck (DSR): too few trials", [], "Sharpe per hour", "trials")
    luck = expected_max_sharpe(len(sharpes), float(np.var(sharpes, ddof=1)))
    chosen = sharpe_of(search[:, best])
    lo, hi = min(*sharpes, luck, 0.0), max(*sharpes, luck, 0.0)
    lo, hi = lo - 0.05 * (hi - lo or 1), hi + 0.05 * (hi - lo or 1)
    body = [*_bars(sharpes, lo, hi, lambda _: GREY), _vline(luck, lo, hi, RED, "best by luck")]
    if math.isfinite(chosen):
        body.append(_vline(chosen, lo, hi, BLUE, "winner", row=1))
    return _frame(
        "Luck: the trials' Sharpes and the best that luck gives as many", body, "Sharpe per hour", "trials"
    )


def held_out_chart(returns: np.ndarray, market: np.ndarray) -> str:
    if not len(returns):
        return _frame("Held out: no returns", [], "hour", "growth")
    ours, theirs = np.cumprod(1 + returns), np.cumprod(1 + market[: len(returns)])
    lo, hi = float(min(ours.min(), theirs.min())), float(max(ours.max(), theirs.max()))
    body = [_line(list(theirs), lo, hi, GREY), _line(list(ours), lo, hi, BLUE), _y_range(lo, hi, pct=True)]
    return _frame("Held out: the winner (blue) against buy-and-hold (grey)", body, "hour", "growth of 1")


def card_html(
    title: str,
    card: Card,
    result: dict[str, Any],
    objectives: Sequence[float | None],
    search: np.ndarray,
    best: int,
    held: np.ndarray,
    market: np.ndarray,
) -> str:
    color = GREEN if card.passes else RED
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{html.escape(v)}</td></tr>"
        for k, v in _figures(card, result)
    )
    charts = [
        search_chart(objectives),
        pbo_chart(search),
        luck_chart(search, best),
        held_out_chart(held, market),
    ]
    return f"""<!doctype html><meta charset="utf-8"><title>{html.escape(title)}</title>
<body style="font-family:system-ui,sans-serif;margin:24px;max-width:1100px">
<h2>{html.escape(title)}</h2>
<p style="font-size:16px;color:{color};font-weight:600">{html.escape(card.verdict)}</p>
<table style="font-size:13px;border-collapse:collapse">{rows}</table>
{_walk_rows(card)}
{_stress_rows(result.get("stress") or [])}
<div style="display:grid;grid-template-columns:repeat(2,{W}px);gap:16px;margin-top:16px">
{"".join(charts)}</div>
</body>"""


def _figures(card: Card, result: dict[str, Any]) -> list[tuple[str, str]]:
    def f(x: float | None, pct: bool = False) -> str:
        return "n/a" if x is None or not math.isfinite(x) else (f"{x:+.2%}" if pct else f"{x:.3f}")

    params = ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in result["best"]["params"].items()
    )
    return [
        ("trials (invalid)", f"{card.trials} ({result['invalid']})"),
        ("best parameters", params),
        ("PBO", f(card.pbo)),
        ("Deflated Sharpe", f(card.dsr)),
        (
            "DSR for the independent trials",
            f"{f(card.dsr_independent)} (≈ {card.independent_trials or 0:.0f} of {card.trials})",
        ),
        ("held-out return", f(card.oos_return, True)),
        ("held-out Sharpe per hour", f(card.oos_sharpe)),
        ("PSR of the held-out Sharpe", f(card.psr)),
        (
            "CPCV paths' Sharpe per hour (5/50/95%)",
            "n/a" if not card.cpcv_sharpe else " / ".join(f(v) for v in card.cpcv_sharpe),
        ),
        ("gate", f"PBO ≤ {card.gate.max_pbo:g}, DSR ≥ {card.gate.min_dsr:g}"),
    ]


def _walk_rows(card: Card) -> str:
    if card.walk_forward is None:
        return ""
    head, rows = walk_table(card.walk_forward.to_dict())
    cells = "".join(f"<th style='padding:2px 8px'>{html.escape(h)}</th>" for h in head)
    cell = "<td style='padding:2px 8px;text-align:right'>{}</td>"
    body = "".join("<tr>" + "".join(cell.format(html.escape(v)) for v in r) + "</tr>" for r in rows)
    return (
        "<h3 style='font-size:14px'>Walk-forward: the pick at each origin on the next block</h3>"
        f"<table style='font-size:13px;border-collapse:collapse'><tr>{cells}</tr>{body}</table>"
    )


def _stress_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.2%}"

    head = "".join(
        f"<th style='padding:2px 8px'>{h}</th>"
        for h in ("variant", "return", "Sharpe/h", "fills", "fees/gross", "B&amp;H at its exposure")
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='padding:2px 8px;text-align:right'>{html.escape(str(v))}</td>"
            for v in (
                r["variant"],
                pct(r["return"]),
                "n/a" if r["sharpe"] is None else f"{r['sharpe']:.3f}",
                r["fills"],
                "n/a" if r["fee_share"] is None else f"{r['fee_share']:.0%}",
                pct(r["exposure_matched_buy_and_hold"]),
            )
        )
        + "</tr>"
        for r in rows
    )
    return (
        "<h3 style='font-size:14px'>The winner on the held-out tail, under stress</h3>"
        f"<table style='font-size:13px;border-collapse:collapse'><tr>{head}</tr>{body}</table>"
    )
