"""Training throughput (env steps/s, PPO updates included) on the CPU: Botrader's PPO on
its vectorised env vs Stable-Baselines3 PPO on the same environment wrapped as a
DummyVecEnv of the same number of single environments, with the same network (two tanh
layers of 64 for actor and critic), rollout length, minibatch size and epochs.
Target: >= 3x SB3's SPS. On a GPU (`--device cuda`, large `--envs`) the env runs as
torch tensors on the device.

    python bench/bench_train.py [--envs 64] [--timesteps 131072] [--device cpu] [--skip-sb3]
"""

from __future__ import annotations

import argparse
import time

from _common import tiled_candles

from botrader.jobs.rl.data import make_splits
from botrader.jobs.train import ppo


def ours(split, envs: int, steps: int, num_steps: int, device: str) -> float:
    args = ppo.Hyperparameters(
        total_timesteps=steps, num_envs=envs, num_steps=num_steps, eval_every=10**9, device=device
    )
    began = time.perf_counter()
    ppo.train(args, split, 10_000)
    return args.num_iterations * args.batch_size / (time.perf_counter() - began)


def sb3(split, envs: int, steps: int, num_steps: int) -> float:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from botrader.jobs.rl.gym import TradingEnv

    vec = DummyVecEnv([lambda i=i: TradingEnv(split, seed=i) for i in range(envs)])
    model = PPO(
        "MlpPolicy",
        vec,
        n_steps=num_steps,
        batch_size=envs * num_steps // 4,
        n_epochs=4,
        learning_rate=3e-4,
        gamma=0.99,
        gae_lambda=0.95,
        clip_range=0.2,
        ent_coef=0.0,
        vf_coef=0.5,
        max_grad_norm=0.5,
        policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": torch.nn.Tanh},
        device="cpu",
        seed=1,
        verbose=0,
    )
    began = time.perf_counter()
    model.learn(total_timesteps=steps)
    return model.num_timesteps / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=131_072)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-sb3", action="store_true")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    split = make_splits(tiled_candles(43_200)).train
    print(
        f"PPO, {args.envs} envs x {args.num_steps} steps per rollout, 4 minibatches, 4 epochs, "
        f"{args.timesteps:,} steps, device {args.device}"
    )
    mine = ours(split, args.envs, args.timesteps, args.num_steps, args.device)
    print(f"botrader PPO (vectorised env)   {mine:>12,.0f} steps/s")
    if not args.skip_sb3:
        theirs = sb3(split, args.envs, args.timesteps, args.num_steps)
        print(f"stable-baselines3 (DummyVecEnv) {theirs:>12,.0f} steps/s")
        print(f"ratio {mine / theirs:.1f}x")


if __name__ == "__main__":
    main()
