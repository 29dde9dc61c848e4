"""TradingBot and TrainingRun manifests as typed objects.

The same YAML the operator reconciles runs on a laptop (`botrader up -f bot.yaml`), so the
field names are the CRD's (camelCase); see DESIGN.md. Validation errors name the field
and the bad value in one line.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from botrader.core.errors import UserError

GROUP_VERSION = "botrader.io/v1alpha1"
Fraction = Field(ge=0.0, le=1.0)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Replay(_Spec):
    path: str
    speed: float = Field(default=60.0, ge=0.0)


class Exits(_Spec):
    """Overrides of the strategy's own exits (`botrader.core.engine.exits`)."""

    stop_loss: float | None = Field(default=None, gt=0.0, lt=1.0, alias="stopLoss")
    take_profit: float | None = Field(default=None, gt=0.0, alias="takeProfit")
    trailing_stop: float | None = Field(default=None, gt=0.0, lt=1.0, alias="trailingStop")
    trailing_activation: float | None = Field(default=None, ge=0.0, alias="trailingActivation")
    time_stop: int | None = Field(default=None, ge=1, alias="timeStop")

    def overrides(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class StrategySource(_Spec):
    """Where a cluster finds a custom strategy's file: a key of a ConfigMap, mounted
    read-only into the trader pod."""

    config_map: str = Field(alias="configMap", min_length=1)
    key: str = Field(min_length=1)


class ParamsFrom(_Spec):
    """The OptimizationRun whose best parameters the bot trades (the operator resolves it)."""

    optimization_run: str = Field(alias="optimizationRun", min_length=1)


class Strategy(_Spec):
    type: str = "rsi"  # a registered name, or `custom` with `ref`
    ref: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    model_ref: str | None = Field(default=None, alias="modelRef")
    exits: Exits | None = None
    source: StrategySource | None = None
    params_from: ParamsFrom | None = Field(default=None, alias="paramsFrom")

    @property
    def reference(self) -> str:
        """What the registry resolves: the registered name, or the custom class's reference."""
        return self.ref if self.type == "custom" and self.ref else self.type


class Risk(_Spec):
    max_position_fraction: float = Field(default=1.0, ge=0.0, le=1.0, alias="maxPositionFraction")
    max_trade_risk_fraction: float = Field(default=1.0, ge=0.0, le=1.0, alias="maxTradeRiskFraction")
    daily_loss_limit_fraction: float = Field(default=0.05, ge=0.0, le=1.0, alias="dailyLossLimitFraction")
    max_drawdown_fraction: float = Field(default=0.2, ge=0.0, le=1.0, alias="maxDrawdownFraction")
    max_consecutive_losses: int = Field(default=5, ge=1, alias="maxConsecutiveLosses")
    stale_data_seconds: int = Field(default=300, ge=1, alias="staleDataSeconds")
    max_leverage: int | None = Field(default=None, ge=1, alias="maxLeverage")
    liquidation_buffer: float | None = Field(default=None, gt=0.0, lt=1.0, alias="liquidationBuffer")


class Execution(_Spec):
    algo: Literal["market", "twap", "vwap"] = "market"
    slices: int = Field(default=1, ge=1, le=1000)
    fee_rate: float = Field(default=0.001, ge=0.0, le=0.1, alias="feeRate")
    slippage_bps: float = Field(default=0.0, ge=0.0, le=1000.0, alias="slippageBps")
    participation: float | None = Field(default=None, gt=0.0, le=1.0)
    fill: Literal["close", "next_open"] = "close"


class Backfill(_Spec):
    start: str | None = None


class VenueCredentials(_Spec):
    secret: str = Field(min_length=1, max_length=253)


class Venue(_Spec):
    """Where orders go: simulated (paper) or Binance's Spot Testnet, with the paper engine
    beside it for the divergence report (`shadowPaper`)."""

    type: Literal["paper", "binance-testnet"] = "paper"
    credentials: VenueCredentials | None = None
    shadow_paper: bool = Field(default=True, alias="shadowPaper")

    @property
    def on_exchange(self) -> bool:
        return self.type != "paper"


class Funding(_Spec):
    rate: str = Field(pattern=r"^-?\d+(\.\d{1,8})?$")  # Binance's eight decimals at most


class Universe(_Spec):
    """`spec.universe`: the `topByQuoteVolume` symbols of trailing quote volume, picked at each
    refresh from the candles closed by then (`botrader.core.portfolio.universe`)."""

    top_by_quote_volume: int = Field(alias="topByQuoteVolume", ge=1, le=500)
    quote: str = Field(default="USDT", pattern=r"^[A-Z0-9]{2,10}$")
    lookback: str = Field(default="7d", pattern=r"^[1-9]\d*[mhdw]$")
    refresh: str = Field(default="1d", pattern=r"^[1-9]\d*[mhdw]$")
    candidates: list[str] | None = None  # the pairs ranked (and collected); None: every pair found


class Portfolio(_Spec):
    """`spec.portfolio`: the caps and breaker above the per-symbol rules of a bot over many
    symbols (`botrader.core.portfolio.config.PortfolioConfig`)."""

    max_open_positions: int | None = Field(default=None, ge=1, alias="maxOpenPositions")
    max_position_fraction: float = Field(default=1.0, gt=0.0, le=1.0, alias="maxPositionFraction")
    # None: the pairs' leverage (1 on spot), so a perpetual portfolio may use what it was given
    max_gross_exposure: float | None = Field(default=None, gt=0.0, alias="maxGrossExposure")
    max_drawdown_fraction: float | None = Field(default=None, gt=0.0, le=1.0, alias="maxDrawdownFraction")
    stake: Literal["equal", "fraction", "volatility"] = "equal"
    stake_fraction: float | None = Field(default=None, gt=0.0, le=1.0, alias="stakeFraction")
    on_exit: Literal["close", "hold"] = Field(default="close", alias="onExit")


def pairs_of(symbol: str | None, symbols: list[str] | None, candidates: list[str] | None) -> list[str]:
    """A bot's pairs from its spec's fields (a parsed spec's, or a stored spec's as the API reads
    it): `symbols`, else a universe's candidates, else its one `symbol`."""
    if symbols is not None:
        return sorted(symbols)
    if candidates is not None:
        return sorted(candidates)
    return [symbol] if symbol else []


class TradingBotSpec(_Spec):
    symbol: str = ""  # one symbol; or `symbols`, or a `universe` (a portfolio bot)
    symbols: list[str] | None = None
    universe: Universe | None = None
    portfolio: Portfolio | None = None
    interval: Literal["1m", "5m", "15m", "1h"] = "1m"
    source: Literal["binance", "binance-testnet", "binance-usdm", "binance-usdm-testnet", "replay"] = (
        "binance"
    )
    replay: Replay | None = None
    venue: Venue = Venue()
    budget: float = Field(default=10_000.0, gt=0.0)
    strategy: Strategy = Strategy()
    risk: Risk = Risk()
    execution: Execution = Execution()
    backfill: Backfill | None = None
    market: Literal["spot", "usdm-perp"] = "spot"
    leverage: int = Field(default=1, ge=1, le=125)
    margin_mode: Literal["isolated"] = Field(default="isolated", alias="marginMode")
    funding: Funding | None = None
    paused: bool = False
    emergency_stop: bool = Field(default=False, alias="emergencyStop")
    image: str | None = None  # a user image with the strategy's package installed (cluster only)

    @property
    def traded_symbols(self) -> list[str]:
        """The pairs this bot's trader steps: its symbol, or its portfolio's (a universe's
        candidates, every one collected; those not picked sleep; none named: empty)."""
        return pairs_of(self.symbol, self.symbols, self.universe.candidates if self.universe else None)

    @property
    def not_on_paper(self) -> str | None:
        """Why this bot cannot trade on paper or in a cluster yet (None: it can) — the one rule
        `botrader up`, `botrader trade` and the operator apply."""
        if self.is_portfolio and not self.traded_symbols:
            return (
                "a portfolio bot picking its pairs by volume (spec.universe) ranks the pairs it "
                "collects: name them in spec.universe.candidates"
            )
        return None

    @property
    def live(self) -> bool:
        """Trading the exchange's candles as they close (not a replay of a file): a new bot
        waits for its series to catch up with the present before it warms and trades."""
        return self.source != "replay"

    @property
    def is_portfolio(self) -> bool:
        """Many symbols over one wallet (`symbols` or `universe`)."""
        return self.symbols is not None or self.universe is not None

    @cached_property  # read for every bot at each collector event the operator sees
    def follows_picks(self) -> bool:
        """A live universe of whole hours, ranked from the exchange's hourly klines: its trader
        needs the minutes of only the pairs it has picked or still holds, so only those are
        collected (the trader saves them; the operator reads them from `status.collect`), and
        no backfill Job runs — the trader fetches a picked pair's warm-up itself. The one rule
        the trader's ranking and the operator's collectors both follow."""
        if not self.live or self.universe is None:
            return False
        from botrader.core.bot_engine import universe_rule  # it reads this model

        rule = universe_rule(self)
        return rule is not None and rule.hourly is not None


class TradingBot(_Spec):
    name: str
    namespace: str = "default"
    spec: TradingBotSpec
    manifest_dir: Path = Path(".")

    def strategy_reference(self) -> str:
        """The strategy's reference as this process resolves it: a custom file's path is
        relative to the working directory (as in a pod), then to the manifest's folder."""
        ref = self.spec.strategy.reference
        where, sep, cls = ref.rpartition(":")
        if not sep or not where.endswith(".py") or Path(where).is_absolute() or Path(where).exists():
            return ref
        beside = self.manifest_dir / where
        return f"{beside}:{cls}" if beside.exists() else ref

    def replay_path(self) -> Path | None:
        """Relative paths resolve against the working directory (as in a container), then
        against the manifest's own directory."""
        if self.spec.replay is None:
            return None
        path = Path(self.spec.replay.path)
        if path.is_absolute() or path.exists():
            return path
        return self.manifest_dir / path


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc)


MAX_MANIFEST_BYTES = 1 << 20  # a manifest is a few KiB; kubectl's own limit is larger but finite
MAX_VALUES = 100_000  # values in a document once YAML aliases are expanded


def expanded_size(value: Any, memo: dict[int, int] | None = None) -> int:
    """How many values `value` holds once every alias is expanded — counted without expanding
    (a shared list is sized once), so an alias bomb (a few lines, billions of values for the
    validator to walk) is measured in microseconds."""
    memo = {} if memo is None else memo
    if not isinstance(value, (dict, list)):
        return 1
    if id(value) not in memo:
        memo[id(value)] = MAX_VALUES + 1  # while counting: a structure that holds itself is endless
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        memo[id(value)] = 1 + sum(expanded_size(item, memo) for item in items)
    return memo[id(value)]


def load_manifests(path: Path) -> list[dict[str, Any]]:
    """Every non-empty document of a manifest file, each a mapping with a mapping for
    metadata — or one line saying what is wrong with the file."""
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise UserError(f"{path}: {path.stat().st_size:,} bytes is not a manifest (at most 1 MiB)")
        text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.safe_load_all(text) if d]
    except FileNotFoundError:
        raise UserError(f"manifest not found: {str(path)!r}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply to be a manifest") from None
    for i, doc in enumerate(docs, 1):
        if expanded_size(doc) > MAX_VALUES:
            raise UserError(
                f"{path}: document {i} expands to over {MAX_VALUES:,} values: refused as an alias bomb"
            )
        if not isinstance(doc, dict):
            raise UserError(f"{path}: document {i} is a {type(doc).__name__}, not a Kubernetes object")
        if not isinstance(doc.get("metadata", {}), dict):
            raise UserError(f"{path}: document {i}: metadata must be a mapping")
    return docs


def load_trading_bot(path: Path) -> TradingBot:
    """The first TradingBot in a manifest file (other kinds in the file are skipped)."""
    docs = [d for d in load_manifests(path) if d.get("kind") == "TradingBot"]
    if not docs:
        raise UserError(f"{path}: no TradingBot in the manifest")
    return parse_trading_bot(docs[0], source=str(path), manifest_dir=path.parent)


def parse_trading_bot(
    doc: dict[str, Any], *, source: str = "manifest", manifest_dir: Path = Path(".")
) -> TradingBot:
    if doc.get("apiVersion") != GROUP_VERSION or doc.get("kind") != "TradingBot":
        got = f"{doc.get('apiVersion')!r} {doc.get('kind')!r}"
        raise UserError(f"{source}: expected apiVersion {GROUP_VERSION} kind TradingBot, got {got}")
    meta = doc.get("metadata") or {}
    if not meta.get("name"):
        raise UserError(f"{source}: metadata.name is required")
    from botrader.core.crds import validate

    try:  # the CRD's schema and CEL rules first: the same verdict the API server would give
        validate(doc)
    except UserError as exc:
        raise UserError(f"{source}: {exc}") from None
    try:
        spec = TradingBotSpec.model_validate(doc.get("spec") or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _field_path(("spec", *err["loc"]))
        raise UserError(f"{source}: {where}: {err['msg']} (got {err.get('input')!r})") from None
    return TradingBot(
        name=meta["name"], namespace=meta.get("namespace", "default"), spec=spec, manifest_dir=manifest_dir
    )
