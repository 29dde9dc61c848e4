"""Response models: what the OpenAPI document at /docs promises."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC): say so in the answer."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class BotSummary(BaseModel):
    name: str
    namespace: str
    phase: str
    message: str
    strategy: str
    symbol: str
    interval: str
    source: str
    budget: float
    equity: float | None
    cash: float | None
    position: float | None
    pnl_percent: float | None
    trades: int
    last_candle_time: UtcDatetime | None
    breakers: dict[str, str]


class PerpetualPosition(BaseModel):
    """A perpetual bot's position as it stands (market usdm-perp; absent on spot)."""

    side: str  # long, short or flat
    leverage: int
    margin: float  # the position's isolated margin, quote asset
    liquidation_price: float | None
    liquidation_distance: float | None  # (price − liquidation price) / price, signed toward the danger
    margin_ratio: float  # maintenance margin / margin balance, as Binance shows it (1: liquidated)
    funding: float  # received (> 0) or paid (< 0) since the bot started, quote asset


class PortfolioPosition(BaseModel):
    """One pair of a portfolio bot as it stands at its last close."""

    symbol: str
    side: str  # long, short (perpetuals) or flat
    quantity: float  # base asset, unsigned (the side says which way)
    entry_price: float | None  # average, fees excluded (None when flat)
    price: float  # its last close
    value: float  # quote asset
    open_pnl: float  # value − cost basis (buy fees included)
    realized_pnl: float  # closed round trips, net of fees
    contribution: float  # realised + open: the pairs' sum is the bot's PnL
    weight: float  # value / the bot's equity (a perpetual's value: its margin and PnL)
    perpetual: PerpetualPosition | None = None  # a perpetual pair's margin and funding (None on spot)


class UniverseChange(BaseModel):
    """A universe bot's picks from a refresh on (until the next change)."""

    time: UtcDatetime
    symbols: list[str]


class BotDetail(BotSummary):
    spec: dict[str, Any]
    last_decision: dict[str, Any] | None
    perpetual: PerpetualPosition | None = None
    positions: list[PortfolioPosition] | None = None  # a portfolio bot's pairs
    universe: list[UniverseChange] | None = None  # a universe bot's picks, each change, oldest first


class Trade(BaseModel):
    seq: int
    order_id: int
    time: UtcDatetime
    side: str
    quantity: float
    price: float
    fee: float
    pnl: float
    reason: str  # signal, stop_loss, take_profit, trailing_stop, time_stop or emergency_stop
    symbol: str | None = None  # a portfolio bot's pair (None: the bot's own symbol)


class TradesPage(BaseModel):
    items: list[Trade]
    total: int
    limit: int
    offset: int


class EquityPoint(BaseModel):
    time: UtcDatetime
    equity: float
    cash: float
    position: float
    price: float


class RoundTrip(BaseModel):
    """A position opened from flat and closed back to flat, as the bot's ledger counts it
    (a fill through zero closes one and opens the next)."""

    side: str = "long"  # long, or short (perpetuals)
    entry_time: UtcDatetime
    exit_time: UtcDatetime
    quantity: float  # base asset entered in all (a flip's whole fill counts)
    entry_price: float  # the entering fills' volume-weighted price, rounded down to the tick
    exit_price: float  # the closing fill's
    pnl: float  # realised, fees included
    fees: float
    fills: int
    reason: str  # the closing fill's: signal, stop_loss, take_profit, trailing_stop, time_stop, …
    symbol: str | None = None  # a portfolio bot's pair


class CandleOut(BaseModel):
    time: int  # open time, epoch ms (UTC)
    open: float
    high: float
    low: float
    close: float
    volume: float


class ParamInfo(BaseModel):
    type: str
    default: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: list[Any] | None = None
    search: list[Any] | None = None
    log: bool = False
    help: str = ""


class StrategyInfo(BaseModel):
    name: str
    aliases: list[str]
    description: str
    params: dict[str, ParamInfo]
    exits: dict[str, float | int]
    source: str  # the distribution that registers it


class ModelsOut(BaseModel):
    configured: bool
    tracking_uri: str | None
    models: list[dict[str, Any]]


class SearchOut(BaseModel):
    """One `botrader optimize` search (an OptimizationRun's, when it ran for one) and its card."""

    run_id: str
    name: str | None
    optimization_run: str | None
    strategy: str | None
    status: str
    started: int | None  # epoch ms
    trials: int | None
    trials_done: int | None
    best_objective: float | None
    best_params: dict[str, Any]
    pbo: float | None
    dsr: float | None
    psr: float | None
    passes: bool | None
    verdict: str | None


class SearchesOut(BaseModel):
    configured: bool
    tracking_uri: str | None
    experiment: str
    searches: list[SearchOut]


class AuditEntry(BaseModel):
    id: int
    time: UtcDatetime
    actor: str
    bot: str
    action: str
    before: dict[str, Any]
    after: dict[str, Any]


class ControlResult(BaseModel):
    bot: str
    action: str
    phase: str


class VenueOrderOut(BaseModel):
    """An order the bot sent to its venue: committed before it was sent, then as reported."""

    client_id: str
    decision: int  # the engine's order id: its paper fills carry the same order_id
    side: str
    quantity: float
    state: str  # SENDING, UNKNOWN, NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED
    venue_id: int | None
    filled_quantity: float
    error: str
    created: int  # epoch ms, when the intent was committed


class DivergenceDecision(BaseModel):
    decision: int
    side: str
    client_id: str
    state: str
    paper_price: float | None
    venue_price: float | None
    slippage_bps: float | None  # venue against paper; positive: worse for the bot
    paper_fee: float
    venue_fee: float
    paper_quantity: float
    venue_quantity: float
    fills: int
    delay_ms: int | None
    error: str
    difference: float  # this decision's venue − paper PnL in the quote asset


class DivergenceOut(BaseModel):
    """Paper against venue: per decision and overall (see botrader.core.venue.divergence)."""

    bot: str
    venue: str
    decisions: int
    pnl_difference: float
    price_cost: float
    fee_cost: float
    unfilled_notional: float
    rejections: int
    mean_slippage_bps: float | None
    median_delay_ms: int | None
    partial_fills: int
    paper_equity: float | None  # at the last mark
    venue_equity: float | None  # budget + the venue fills' cash and position, at the last mark's price
    per_decision: list[DivergenceDecision]
