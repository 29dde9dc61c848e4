"""The operator's client-side pacing (`apply.Pace`, client-go's QPS and burst): a burst goes
at once, the rest at the configured rate, in the order asked, and 0 qps does not pace."""

from __future__ import annotations

import asyncio
import time

from botrader.operator.apply import Pace


def run(pace: Pace, requests: int) -> tuple[list[int], list[float]]:
    order: list[int] = []
    times: list[float] = []

    async def one(i: int) -> None:
        await pace.wait()
        order.append(i)
        times.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(requests)))

    began = time.monotonic()
    asyncio.run(main())
    return order, [t - began for t in times]


def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    order, times = run(Pace(qps=50, burst=5), 15)
    assert order == list(range(15))  # first come, first sent
    assert times[-1] >= (15 - 5) / 50 * 0.95  # ten beyond the burst at 50/s: at least 0.2 s
    assert times[4] < times[-1] / 2  # the burst did not wait for the rate


def test_zero_qps_is_unpaced() -> None:
    _, times = run(Pace(qps=0, burst=1), 200)
    assert times[-1] < 0.5  # 200 at 50/s would be 4 s
