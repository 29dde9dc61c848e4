"""What a policy's action means on a market that can short: a target position.

On a perpetual the action in [−1, 1] is the position the policy wants, as a fraction of the
full exposure (`botrader.core.engine.perp_sizing`: +1 the full long, 0 flat, −1 the full
short). A continuous target would re-trade a sliver at every candle, paying a fee each time,
so the target moves on a grid of `step` (the model's `action_deadzone`: 0.2 gives −1, −0.8,
…, 0.8, 1): a nudge smaller than half a step keeps the target, and the engine does not
re-trade a target it already holds. `step` 0: the raw action, clipped.

One function, used by the training environment and by the `ppo` strategy when it trades,
so both read an action the same way.
"""

from __future__ import annotations


def target_of(action: float, step: float) -> float:
    """`action` clipped to [−1, 1] and rounded to the nearest multiple of `step` (ties to
    even, as Python rounds), never past ±1."""
    a = max(-1.0, min(1.0, float(action)))
    if step <= 0:
        return a
    levels = round(a / step)
    return max(-1.0, min(1.0, levels * step)) + 0.0  # + 0.0: no −0.0 for a flat target
