"""PPO's hyperparameters, declared once (after cleanrl's `Args`): the dataclass below is the
only list. `botrader train`'s options, the TrainingRun CRD's `spec.hyperparameters` schema
(checked by a test, field for field: name, type, default, bounds) and the operator's command
lines (`botrader.core.training_spec`: camelCase key → `--kebab-case` flag) all derive from it.

Bounds sit in each field's metadata (`ge`, `gt`, `le`, `lt`, `choices`), and for the fields
`botrader optimize --strategy ppo` searches, the space (`search`, `log`); cross-field rules are
in `validate`. No torch here, so the CLI can describe training without importing it.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
from dataclasses import dataclass, field, fields
from typing import Any

from botrader.core.errors import UserError


def _p(default: Any, **bounds: Any) -> Any:
    return field(default=default, metadata=bounds)


@dataclass
class Hyperparameters:
    total_timesteps: int = _p(200_000, gt=0)
    """environment steps over all parallel environments"""
    learning_rate: float = _p(3e-4, gt=0, search=(1e-5, 1e-3), log=True)
    """Adam's step size (annealed linearly to 0 when `anneal_lr`)"""
    num_envs: int = _p(64, ge=1)
    """parallel environments, stepped as one array operation"""
    num_steps: int = _p(128, ge=1)
    """steps per environment per rollout"""
    anneal_lr: bool = _p(True)
    """anneal the learning rate linearly to 0"""
    gamma: float = _p(0.99, gt=0, le=1)
    """discount factor"""
    gae_lambda: float = _p(0.95, ge=0, le=1, search=(0.8, 0.99))
    """GAE's bias/variance trade-off"""
    num_minibatches: int = _p(4, ge=1)
    """minibatches per update epoch (must divide num_envs x num_steps)"""
    update_epochs: int = _p(4, ge=1)
    """passes over each rollout"""
    norm_adv: bool = _p(True)
    """normalise advantages per minibatch"""
    clip_coef: float = _p(0.2, gt=0)
    """the surrogate objective's clipping"""
    clip_vloss: bool = _p(True)
    """clip the value loss like the policy's"""
    ent_coef: float = _p(0.0, ge=0, search=(0.0, 0.05))
    """entropy bonus"""
    vf_coef: float = _p(0.5, ge=0)
    """value loss weight"""
    max_grad_norm: float = _p(0.5, gt=0)
    """gradient clipping (global norm)"""
    hidden: int = _p(64, ge=1, le=4096, search=[32, 64, 128])
    """width of the two hidden layers of actor and critic"""
    eval_every: int = _p(5, ge=1)
    """updates between validation runs"""
    window_size: int = _p(240, ge=2)
    """episode length in candles (4 h of 1m)"""
    window_overlap: float = _p(0.25, ge=0, lt=1)
    """overlap of the training windows episodes are drawn from"""
    fee_rate: float = _p(0.001, ge=0, lt=0.1)
    """fee per fill, as a fraction of its notional"""
    slippage_bps: float = _p(0.0, ge=0, lt=1000)
    """slippage against the agent, in basis points"""
    action_deadzone: float = _p(0.2, ge=0, lt=1, search=(0.0, 0.5))
    """|action| below this is a hold: no order, no fee (the same rule when trading). Chosen
    on validation among 0, 0.1, 0.2, 0.3, 0.5 (seed 1, budget 10,000): without it the
    deterministic policy nudges the position on almost every candle and fees eat it"""
    seed: int = _p(1, ge=0)
    """random seed (python, numpy, torch, environments)"""
    device: str = _p("cpu", choices=("cpu", "cuda"))
    """torch device"""
    env_backend: str = _p("auto", choices=("auto", "numpy", "torch"))
    """numpy, torch, or auto: numpy on a CPU (faster for tens of envs), torch on a GPU"""

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches

    @property
    def num_iterations(self) -> int:
        return max(1, self.total_timesteps // self.batch_size)

    def validate(self, train_rows: int | None = None) -> None:
        """Fail before any work starts, naming the bad value."""
        for f in fields(self):
            check_bounds(f.name, getattr(self, f.name), f.metadata)
        if self.batch_size % self.num_minibatches:
            raise UserError(
                f"bad num_minibatches {self.num_minibatches}: must divide the batch of {self.batch_size}"
            )
        if train_rows is not None and self.window_size >= train_rows:
            raise UserError(
                f"window size {self.window_size} is larger than the training data ({train_rows} candles)"
            )


def check_bounds(name: str, value: Any, bounds: Any) -> None:
    """One rule for every bounded field: the value named, the bound it breaks."""
    rules = (
        ("ge", lambda v, b: v >= b, ">="),
        ("gt", lambda v, b: v > b, ">"),
        ("le", lambda v, b: v <= b, "<="),
        ("lt", lambda v, b: v < b, "<"),
    )
    for key, ok, symbol in rules:  # `search` and `log` are the optimiser's, not bounds
        if key in bounds and not ok(value, bounds[key]):
            raise UserError(f"bad {name} {value!r}: must be {symbol} {bounds[key]}")
    if "choices" in bounds and value not in bounds["choices"]:
        raise UserError(f"bad {name} {value!r}: expected one of {', '.join(bounds['choices'])}")


@functools.cache
def docs() -> dict[str, str]:
    """Each field's attribute docstring (the string literal after it), as cleanrl writes them."""
    tree = ast.parse(inspect.getsource(Hyperparameters))
    body = tree.body[0].body  # type: ignore[attr-defined]
    found = {}
    for node, after in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr):
            if isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
                found[node.target.id] = " ".join(after.value.value.split())  # type: ignore[attr-defined]
    return found


def camel(name: str) -> str:
    """total_timesteps → totalTimesteps (the CRD's spelling)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


CRD_EXCLUDED = ("seed", "device", "env_backend")  # spec.seed is top level; devices belong to the pod
