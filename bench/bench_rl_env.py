"""Raw vectorised-environment throughput: env steps/s with random actions, the engine's
integer accounting included. Target: >= 1,000,000 env-steps/s at N=64 on CPU.

    python bench/bench_rl_env.py [--steps 2000] [--backend numpy|torch] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import tiled_candles

from botrader.jobs.rl.data import make_splits
from botrader.jobs.rl.env import VecTradingEnv


def measure(split, n: int, steps: int, backend: str, device: str) -> float:
    env = VecTradingEnv(split, n, backend=backend, device=device, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    if backend == "torch":
        import torch

        actions = torch.as_tensor(rng.uniform(-1, 1, (steps, n)), dtype=torch.float32, device=device)
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    else:
        actions, sync = rng.uniform(-1, 1, (steps, n)), (lambda: None)
    for i in range(20):  # warm-up
        env.step(actions[i])
    sync()
    began = time.perf_counter()
    for i in range(steps):
        env.step(actions[i])
    sync()
    return steps * n / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--sizes", default="64,1024")
    args = parser.parse_args()
    split = make_splits(tiled_candles(43_200)).train
    for n in (int(x) for x in args.sizes.split(",")):
        sps = measure(split, n, args.steps, args.backend, args.device)
        print(f"{args.backend:<6} {args.device:<5} N={n:<6} {sps:>14,.0f} env-steps/s")


if __name__ == "__main__":
    main()
