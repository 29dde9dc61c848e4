"""Trained models as artifacts, and trading with them.

A model directory holds `policy.pt` (the actor/critic weights), `features.json` (the
feature pipeline: which columns, standardisation from the training split) and `meta.json`
(budget, fee, symbol, interval, hidden size). `ActionPredictor` loads one from a path or an
MLflow URI (`runs:/<id>/model`, `models:/<name>/<version>`) and rebuilds the training
observation from candle history with the streaming indicators — the same values the
training features hold — so what the agent saw in training is what it sees when trading.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from botrader.core.candles import Candle
from botrader.core.engine.view import Bar
from botrader.core.errors import UserError
from botrader.core.indicators.streaming import StreamingIndicators
from botrader.core.strategy.indicators import Indicator
from botrader.jobs.rl.features import CLIP, PORTFOLIO_NAMES, FeatureConfig, indicator_columns, portfolio_part
from botrader.jobs.train.ppo import Agent

HOLD, SELL, BUY = 0, 1, 2


@dataclass(frozen=True)
class ModelMeta:
    budget: float
    fee_rate: float
    symbol: str
    interval: str
    hidden: int
    obs_dim: int
    deadzone: float = 0.0
    market: str = "spot"  # usdm-perp: the action is a target from full short to full long
    leverage: int = 1

    @property
    def can_short(self) -> bool:
        return self.market != "spot"

    @classmethod
    def for_request(cls, request: Any, budget: float, obs_dim: int) -> ModelMeta:
        """What a model trained for `request` (a TrainRequest) records about itself."""
        hp, market = request.hyperparameters, request.market_options
        return cls(
            budget,
            hp.fee_rate,
            request.symbol,
            request.interval,
            hp.hidden,
            obs_dim,
            hp.action_deadzone,
            market.market,
            market.leverage,
        )


def save_model(directory: Path, agent: Agent, config: FeatureConfig, meta: ModelMeta) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(agent.state_dict(), directory / "policy.pt")
    (directory / "features.json").write_text(config.to_json())
    (directory / "meta.json").write_text(json.dumps(meta.__dict__))
    return directory


def resolve(uri: str) -> Path:
    """A local model directory for a path or an MLflow URI."""
    path = Path(uri)
    if path.is_dir():
        return path
    if "://" not in uri and not uri.startswith(("runs:/", "models:/")):
        raise UserError(f"model not found: {uri!r} (expected a model directory or runs:/…, models:/… URI)")
    import mlflow

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:  # MLflow raises several types for a bad URI
        raise UserError(f"cannot load model {uri!r}: {str(exc).splitlines()[0]}") from None


class ObservationBuilder:
    """Streams candles into the training observation's market part."""

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self.indicators = StreamingIndicators()
        self.returns: deque[float] = deque(maxlen=config.returns)
        self.mean, self.std = np.asarray(config.mean), np.asarray(config.std)
        self.latest: np.ndarray | None = None

    def update(self, candle: Candle | Bar) -> np.ndarray | None:
        values = self.indicators.update(candle)  # type: ignore[arg-type]
        if values["log_return"] is not None:
            self.returns.appendleft(values["log_return"])
        if len(self.returns) < self.config.returns or any(v is None for v in values.values()):
            self.latest = None
            return None
        close = candle.close
        raw = np.array([*self.returns, *indicator_columns(values, close)], dtype=np.float64)
        self.latest = np.clip((raw - self.mean) / self.std, -CLIP, CLIP).astype(np.float32)
        return self.latest


class ObservationIndicator(Indicator):
    """The observation's market part as an indicator of the `ppo` strategy: it updates on
    warm-up candles too, and its state is saved with the bot's snapshot."""

    warmup = settle = 500  # the slowest feature (SMA(50), EMA(26) inside MACD) has settled

    def __init__(self, config: FeatureConfig) -> None:
        self.builder = ObservationBuilder(config)

    def step(self, bar: Any) -> np.ndarray | None:
        self.value = self.builder.update(bar)
        return self.value

    def state(self) -> dict[str, Any]:
        return {"returns": list(self.builder.returns), "indicators": self.builder.indicators.state()}

    def load(self, state: dict[str, Any]) -> None:
        self.builder.returns.extend(state["returns"])
        self.builder.indicators.load(state["indicators"])
        self.value = None


def observation(market: np.ndarray, cash: float, held: float, unrealized: float, equity: float) -> np.ndarray:
    """The policy's input: market features and the portfolio part (`features.portfolio_part`,
    the environment's own definition)."""
    port = portfolio_part(cash, held, unrealized, 1.0 / equity if equity > 0 else 0.0)
    return np.concatenate([market, np.asarray(port, dtype=np.float32)])


class ActionPredictor:
    def __init__(self, directory: Path) -> None:
        try:
            self.config = FeatureConfig.from_json((directory / "features.json").read_text())
            self.meta = ModelMeta(**json.loads((directory / "meta.json").read_text()))
            self.agent = Agent(self.meta.obs_dim, self.meta.hidden)
            self.agent.load_state_dict(
                torch.load(directory / "policy.pt", map_location="cpu", weights_only=True)
            )
        except FileNotFoundError as exc:
            raise UserError(f"not a Botrader model directory: {directory} ({exc.filename} missing)") from None
        self.agent.eval()
        self.names = [*self.config.names, *PORTFOLIO_NAMES]

    @classmethod
    def load(cls, uri: str) -> ActionPredictor:
        return cls(resolve(uri))

    @classmethod
    def from_agent(cls, agent: Agent, config: FeatureConfig, meta: ModelMeta) -> ActionPredictor:
        """Wrap a model in training (validation runs) without a round trip to disk."""
        predictor = cls.__new__(cls)
        predictor.config, predictor.meta, predictor.agent = config, meta, agent
        predictor.names = [*config.names, *PORTFOLIO_NAMES]
        return predictor

    def action(self, obs: np.ndarray) -> float:
        with torch.no_grad():
            return float(self.agent.act(torch.as_tensor(obs).unsqueeze(0))[0, 0])

    def predict(self, history: Iterable[Candle], cash: float, position: float, cost_basis: float) -> float:
        """Action in [-1, 1] after the last candle of `history` (oldest first). `cost_basis`:
        the cash paid for the position, buy fees included — what training's environment marks
        it against (the average entry price would hide the fee)."""
        builder = ObservationBuilder(self.config)
        market, last = None, None
        for candle in history:
            market, last = builder.update(candle), candle
        if market is None or last is None:
            raise UserError("not enough history to build the model's features (need a few hundred candles)")
        held = position * last.close
        unrealized = held - cost_basis
        return self.action(observation(market, cash, held, unrealized, cash + held))  # spot's equity

    def predict_discrete(
        self,
        history: Iterable[Candle],
        cash: float,
        position: float,
        cost_basis: float,
        threshold: float = 0.1,
    ) -> int:
        """0 hold, 1 sell, 2 buy (|action| below `threshold` is a hold)."""
        a = self.predict(history, cash, position, cost_basis)
        return HOLD if abs(a) < threshold else (BUY if a > 0 else SELL)

    def global_attributions(self, market: np.ndarray, top: int = 10) -> dict[str, float]:
        """What the policy looks at over a period: mean |gradient × input| of the action per
        feature, across the period's observations of a flat account, as shares of the total."""
        flat = np.tile(np.array([1.0, 0.0, 0.0], dtype=np.float32), (len(market), 1))
        x = torch.as_tensor(np.concatenate([market, flat], axis=1)).requires_grad_(True)
        self.agent.actor_mean(x).sum().backward()  # rows are independent: one pass gives each row's gradient
        contribution = (x.grad * x).abs().mean(0).detach().numpy()  # type: ignore[operator]
        total = float(contribution.sum())
        share = contribution / total if total > 0 else contribution
        return {self.names[i]: round(float(share[i]), 4) for i in np.argsort(-share)[:top]}

    def explain(self, obs: np.ndarray, top: int = 5) -> dict[str, Any]:
        """Action mean and std, and per-feature gradient × input attributions."""
        x = torch.as_tensor(obs).unsqueeze(0).requires_grad_(True)
        mean = self.agent.actor_mean(x)
        mean.sum().backward()
        grads = (x.grad[0] * x[0]).detach().numpy()  # type: ignore[index]
        order = np.argsort(-np.abs(grads))[:top]
        std = float(torch.exp(self.agent.actor_logstd).item())
        return {
            "action_mean": float(mean[0, 0].detach().clamp(-1, 1)),
            "action_std": std,
            "confidence": float(abs(math.tanh(float(mean[0, 0].detach())))),
            "attributions": {self.names[i]: float(grads[i]) for i in order},
        }
