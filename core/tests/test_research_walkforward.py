"""Walk-forward of the selection rule against a hand-worked case: which trial each origin
picks, what it earns on the next block, beside buy-and-hold and a baseline there."""

from __future__ import annotations

import numpy as np
import pytest

from botrader.core.research.card import judge
from botrader.core.research.walk_forward import table, walk_forward

UP, DOWN = [0.011, 0.009] * 10, [-0.011, -0.009] * 10  # 20 periods each, mean ±1%


def trials() -> np.ndarray:
    """Trial 0 gains for 20 periods then loses; trial 1 the reverse; trial 2 never trades."""
    return np.column_stack([UP + DOWN, DOWN + UP, [0.0] * 40])


def test_each_origin_picks_on_what_came_before_and_trades_the_next_block() -> None:
    market, steady = np.zeros(40), np.full(40, 0.001)
    wf = walk_forward(trials(), folds=3, purge=1, market=market, baselines={"steady": steady})
    assert wf is not None
    # blocks of 10: tests [10,20), [20,30), [30,40); training ends one period before each
    assert [f.test for f in wf.folds] == [(10, 20), (20, 30), (30, 40)]
    assert [f.train for f in wf.folds] == [(0, 9), (0, 19), (0, 29)]
    # trial 0 leads on everything before each origin (at 30: 20 gains, 9 losses), so it is picked
    # every time — and its losses after period 20 are what the walk-forward shows
    assert [f.chosen for f in wf.folds] == [0, 0, 0]
    gain, loss = (1.011 * 1.009) ** 5 - 1, (0.989 * 0.991) ** 5 - 1
    assert [f.oos_return for f in wf.folds] == pytest.approx([gain, loss, loss])
    assert wf.oos_return == pytest.approx((1 + gain) * (1 + loss) ** 2 - 1)
    assert wf.market_return == 0.0 and wf.beats_market == 1
    assert wf.folds[0].baselines["steady"] == pytest.approx(1.001**10 - 1)
    assert wf.baselines["steady"] == pytest.approx(1.001**30 - 1)


def test_the_purge_keeps_the_boundary_out_of_training() -> None:
    """A trial whose only gain is the last period before the test block: seen without a
    purge (it then has the best Sharpe there), never with one."""
    returns = np.zeros((40, 2))
    returns[:9, 0] = [0.001, -0.001] * 4 + [0.001]  # a flat-ish trial
    returns[9, 1] = 0.05  # the boundary leak
    assert walk_forward(returns, folds=3, purge=0).folds[0].chosen == 1
    assert walk_forward(returns, folds=3, purge=1).folds[0].chosen == 0


def test_too_short_a_search_set_has_no_walk_forward_and_the_card_says_nothing_of_it() -> None:
    assert walk_forward(np.zeros((20, 3)), folds=4) is None
    card = judge(trials()[:20], 0, None, market=np.zeros(20), folds=4)
    assert card.walk_forward is None and "walk-forward" not in card.verdict


def test_the_card_carries_it_and_its_table_prints_every_fold_and_the_total() -> None:
    card = judge(trials(), 0, None, market=np.zeros(40), folds=3)
    assert card.walk_forward is not None
    assert "walk-forward -9.65% against buy-and-hold +0.00%, ahead in 1 of 3 folds" in card.verdict
    head, rows = table(card.to_dict()["walk_forward"])
    assert head[:4] == ["fold", "test hours", "chosen trial", "return"]
    assert [r[0] for r in rows] == ["1", "2", "3", "all"] and rows[0][3] == "+10.46%"
