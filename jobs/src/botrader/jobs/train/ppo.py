"""PPO with a Gaussian policy for continuous position sizing, after cleanrl's
`ppo_continuous_action.py`: one readable file, the hyperparameters declared once (in
`hyperparameters.py`), a straight-line training loop. The environment is Botrader's
vectorised trading env, whose accounting is the engine's arithmetic.

Validation: every `eval_every` updates the deterministic policy (the Gaussian's mean,
clipped to [-1, 1]) trades the validation split through the engine; the checkpoint with the
best validation Sharpe is kept. The test split is touched once, by the caller, with that
checkpoint.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.distributions.normal import Normal

from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.units import MarketRules
from botrader.jobs.rl.data import Split
from botrader.jobs.rl.engine_env import EngineVecEnv
from botrader.jobs.rl.env import EnvConfig, VecTradingEnv
from botrader.jobs.train.hyperparameters import Hyperparameters


def layer_init(layer: nn.Linear, std: float = float(np.sqrt(2)), bias_const: float = 0.0) -> nn.Linear:
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(obs_dim, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, 1), std=1.0),
        )
        self.actor_mean = nn.Sequential(
            layer_init(nn.Linear(obs_dim, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, hidden)),
            nn.Tanh(),
            layer_init(nn.Linear(hidden, 1), std=0.01),
        )
        self.actor_logstd = nn.Parameter(torch.zeros(1, 1))

    def describe(self) -> dict[str, Any]:
        """The model card's architecture: each network's layer widths (input first), the
        activation between them and the trainable parameter count."""

        def widths(net: nn.Sequential) -> list[int]:
            linear = [m for m in net if isinstance(m, nn.Linear)]
            return [linear[0].in_features, *(m.out_features for m in linear)]

        activation = next(type(m).__name__ for m in self.actor_mean if not isinstance(m, nn.Linear))
        return {
            "actor": widths(self.actor_mean),
            "critic": widths(self.critic),
            "activation": activation,
            "parameters": sum(p.numel() for p in self.parameters() if p.requires_grad),
        }

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def get_action_and_value(
        self, x: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        action_mean = self.actor_mean(x)
        action_std = torch.exp(self.actor_logstd.expand_as(action_mean))
        probs = Normal(action_mean, action_std)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action).sum(1), probs.entropy().sum(1), self.critic(x)

    def act(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic action used for validation, testing and trading."""
        return self.actor_mean(x).clamp(-1.0, 1.0)


@dataclass
class UpdateStats:
    iteration: int
    global_step: int
    episode_return: float | None
    value_loss: float
    policy_loss: float
    entropy: float
    approx_kl: float
    sps: float
    learning_rate: float
    clipfrac: float  # share of samples whose ratio was clipped
    explained_variance: float

    def metrics(self) -> dict[str, float]:
        return {
            k: float(v)
            for k, v in asdict(self).items()
            if v is not None and k not in ("iteration", "global_step") and v == v  # NaN: not logged
        }


def train(
    args: Hyperparameters,
    split: Split,
    budget: float,
    on_update: Callable[[UpdateStats, Agent], None] | None = None,
    market: MarketRules | None = None,
    engine_config: EngineConfig | None = None,
) -> Agent:
    """Train one agent on `market`'s money units; `on_update` sees every update (logging,
    validation, checkpoints). `engine_config`: the evaluation engine's, which trains too
    where the array environment cannot model its market (a perpetual)."""
    args.validate(len(split))
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    backend = (
        args.env_backend if args.env_backend != "auto" else ("numpy" if device.type == "cpu" else "torch")
    )
    env_config = EnvConfig(
        budget, args.fee_rate, args.slippage_bps, args.window_size, args.window_overlap, args.action_deadzone
    )
    envs: VecTradingEnv | EngineVecEnv
    if engine_config is not None and engine_config.instrument.shorts:  # beyond the array env's spot
        backend = "numpy"  # the engine env hands numpy arrays over
        envs = EngineVecEnv(split, args.num_envs, env_config, engine_config=engine_config, seed=args.seed)
    else:
        envs = VecTradingEnv(
            split,
            args.num_envs,
            env_config,
            market=market,
            backend=backend,
            device=args.device,
            seed=args.seed,
        )
    agent = Agent(envs.obs_dim, args.hidden).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # ALGO Logic: storage setup
    obs = torch.zeros((args.num_steps, args.num_envs, envs.obs_dim), device=device)
    actions = torch.zeros((args.num_steps, args.num_envs, 1), device=device)
    logprobs = torch.zeros((args.num_steps, args.num_envs), device=device)
    rewards = torch.zeros((args.num_steps, args.num_envs), device=device)
    dones = torch.zeros((args.num_steps, args.num_envs), device=device)
    values = torch.zeros((args.num_steps, args.num_envs), device=device)

    global_step, start_time = 0, time.time()
    next_obs = torch.as_tensor(envs.reset(), device=device)
    next_done = torch.zeros(args.num_envs, device=device)

    for iteration in range(1, args.num_iterations + 1):
        if args.anneal_lr:  # linearly to zero over the run
            optimizer.param_groups[0]["lr"] = (
                1.0 - (iteration - 1.0) / args.num_iterations
            ) * args.learning_rate
        finished: list[torch.Tensor] = []

        # rollout: the policy acts in every environment at once
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step], dones[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_obs)
                values[step] = value.flatten()
            actions[step], logprobs[step] = action, logprob
            env_action = action[:, 0].clamp(-1.0, 1.0)  # the env gets the clipped action
            raw_obs, reward, done, info = envs.step(
                env_action if backend == "torch" else env_action.cpu().numpy()
            )
            rewards[step] = torch.as_tensor(reward, device=device, dtype=torch.float32)
            next_obs = torch.as_tensor(raw_obs, device=device)
            next_done = torch.as_tensor(done, device=device, dtype=torch.float32)
            if bool(done.any()):
                finished.append(torch.as_tensor(info["episode_return"], device=device)[next_done.bool()])

        # GAE: bootstrap value if not done
        with torch.no_grad():
            next_value = agent.get_value(next_obs).reshape(1, -1)
            advantages = torch.zeros_like(rewards)
            lastgaelam = torch.zeros(args.num_envs, device=device)
            for t in reversed(range(args.num_steps)):
                if t == args.num_steps - 1:
                    nextnonterminal, nextvalues = 1.0 - next_done, next_value
                else:
                    nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
                delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
                advantages[t] = lastgaelam = (
                    delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                )
            returns = advantages + values

        # flatten the batch
        b_obs = obs.reshape((-1, envs.obs_dim))
        b_logprobs, b_actions = logprobs.reshape(-1), actions.reshape((-1, 1))
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)

        # optimise the policy and value network
        b_inds = np.arange(args.batch_size)
        clipfracs = []
        for _epoch in range(args.update_epochs):
            np.random.shuffle(b_inds)
            for start in range(0, args.batch_size, args.minibatch_size):
                mb_inds = b_inds[start : start + args.minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions[mb_inds]
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > args.clip_coef).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                # policy loss
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                # value loss
                newvalue = newvalue.view(-1)
                if args.clip_vloss:
                    v_loss_unclipped = (newvalue - b_returns[mb_inds]) ** 2
                    v_clipped = b_values[mb_inds] + torch.clamp(
                        newvalue - b_values[mb_inds], -args.clip_coef, args.clip_coef
                    )
                    v_loss_clipped = (v_clipped - b_returns[mb_inds]) ** 2
                    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb_inds]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        episode_return = float(torch.cat(finished).mean()) if finished else None
        # how much of the returns' variance the value function explains (1 perfect, ≤ 0 useless)
        y_pred, y_true = b_values.detach().cpu().numpy(), b_returns.detach().cpu().numpy()
        var_y = np.var(y_true)
        explained_var = float("nan") if var_y == 0 else float(1 - np.var(y_true - y_pred) / var_y)
        stats = UpdateStats(
            iteration,
            global_step,
            episode_return,
            v_loss.item(),
            pg_loss.item(),
            entropy_loss.item(),
            approx_kl.item(),
            global_step / (time.time() - start_time),
            optimizer.param_groups[0]["lr"],
            float(np.mean(clipfracs)),
            explained_var,
        )
        if on_update is not None:
            on_update(stats, agent)
    return agent
