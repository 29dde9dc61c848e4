"""The honesty card's statistics against published and hand-computed cases, and the controls
that prove the harness can see skill and cannot invent it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from botrader.core.errors import UserError
from botrader.core.research.card import Gate, judge
from botrader.core.research.pbo import probability_of_overfitting
from botrader.core.research.sharpe import (
    Moments,
    block_bootstrap,
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    probabilistic_sharpe,
    sharpe_of,
)


def test_the_deflated_sharpe_ratio_papers_numerical_example() -> None:
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", their example: an
    annualised Sharpe of 2.5 over 1,250 daily returns with skew −3 and kurtosis 10, selected
    from 100 trials whose annualised Sharpes vary by 0.5: SR₀ ≈ 0.1132 per day, DSR ≈ 0.9004."""
    daily = Moments(n=1250, sharpe=2.5 / math.sqrt(250), skew=-3.0, kurtosis=10.0)
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)
    assert deflated_sharpe(daily, 100, 0.5 / 250) == pytest.approx(0.9004, abs=1e-4)


def test_probabilistic_sharpe_by_hand() -> None:
    # annualised 1.5 over 60 normal monthly returns: z = 0.4330·√59 / √(1 + 0.5·0.1875) = 3.180
    monthly = Moments(n=60, sharpe=1.5 / math.sqrt(12), skew=0.0, kurtosis=3.0)
    assert probabilistic_sharpe(monthly) == pytest.approx(0.99926, abs=1e-5)
    assert probabilistic_sharpe(monthly, benchmark=monthly.sharpe) == pytest.approx(0.5)
    # one trial: nothing to deflate
    assert deflated_sharpe(monthly, 1, 0.3) == probabilistic_sharpe(monthly)


def test_moments_of_a_small_series_by_hand() -> None:
    found = moments(np.array([0.01, -0.02, 0.03, 0.0]))
    # mean 0.005, sample std 0.0208167: Sharpe 0.240192
    assert found.sharpe == pytest.approx(0.005 / np.std([0.01, -0.02, 0.03, 0.0], ddof=1))
    assert found.skew == pytest.approx(0.0, abs=1e-12)  # symmetric about its mean
    assert moments(np.zeros(10)) is None and moments(np.array([0.1, 0.2])) is None


def test_the_more_trials_the_less_a_sharpe_proves() -> None:
    rng = np.random.default_rng(0)
    good = moments(rng.normal(0.002, 0.01, 500))
    assert deflated_sharpe(good, 1, 0.0) > 0.99
    assert deflated_sharpe(good, 1000, 0.04) < deflated_sharpe(good, 10, 0.04) < 0.99


def test_pbo_by_hand_a_winner_that_always_loses_out_of_sample() -> None:
    """Two trials, two blocks: A wins block 1 and loses block 2, B the opposite, so whichever
    half is in-sample, its winner is the out-of-sample loser: both splits overfit, PBO 1."""
    a = [0.02, 0.01, 0.03, 0.02, -0.01, -0.02, -0.01, -0.03]
    b = [-0.01, -0.02, -0.01, -0.03, 0.02, 0.01, 0.03, 0.02]
    found = probability_of_overfitting(np.array([a, b]).T, blocks=2)
    assert (found.pbo, found.splits) == (1.0, 2)
    # rank 1 of 2 out of sample: ω = 1/3, logit ln(1/2)
    assert found.logits == pytest.approx((math.log(0.5), math.log(0.5)))
    # and one that is better everywhere: never overfit, rank 2 of 2, logit ln 2
    c = [x + 0.05 for x in b]
    assert probability_of_overfitting(np.array([b, c]).T, blocks=2).pbo == 0.0


def test_pbo_rejects_what_it_cannot_judge() -> None:
    with pytest.raises(UserError, match="even"):
        probability_of_overfitting(np.zeros((100, 3)), blocks=5)
    with pytest.raises(UserError, match="2 trials"):
        probability_of_overfitting(np.zeros((100, 1)))
    with pytest.raises(UserError, match="periods"):
        probability_of_overfitting(np.zeros((20, 3)), blocks=16)


def test_negative_control_noise_gives_pbo_near_half_and_no_evidence() -> None:
    """200 trials of pure noise: the search's winner is a coin toss out of sample."""
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, (720, 200))
    best = int(np.argmax([sharpe_of(noise[:, j]) for j in range(200)]))
    card = judge(noise, best, rng.normal(0, 0.01, 240))
    assert 0.35 < card.pbo < 0.65
    assert card.dsr < 0.5 and not card.passes
    assert card.verdict.startswith("no evidence of skill: PBO")


def test_positive_control_a_planted_edge_is_found_and_believed() -> None:
    rng = np.random.default_rng(7)
    trials = rng.normal(0, 0.01, (720, 200))
    trials[:, 42] += 0.003  # one configuration with a real edge (Sharpe 0.3 per hour)
    best = int(np.argmax([sharpe_of(trials[:, j]) for j in range(200)]))
    assert best == 42
    card = judge(trials, best, rng.normal(0.003, 0.01, 240))
    assert card.pbo < 0.05 and card.dsr > 0.95 and card.psr > 0.99
    assert card.passes and card.verdict.startswith("evidence of skill")
    low, high = card.oos_sharpe_ci
    assert low < card.oos_sharpe < high and low > 0
    assert not judge(trials, best, None, Gate(max_pbo=0.5, min_dsr=1.0)).passes  # the gate decides


def test_the_block_bootstrap_interval_covers_and_narrows() -> None:
    rng = np.random.default_rng(3)
    short, long = rng.normal(0.001, 0.01, 100), rng.normal(0.001, 0.01, 2000)
    a, b = block_bootstrap(short, sharpe_of)
    c, d = block_bootstrap(long, sharpe_of)
    assert a < sharpe_of(short) < b and c < sharpe_of(long) < d
    assert d - c < b - a  # twenty times the data: a narrower interval
    assert block_bootstrap(short[:20], sharpe_of) is None  # fewer than two blocks


def test_a_winner_that_never_trades_is_no_evidence_of_skill() -> None:
    """When every parameter set that trades loses, the search's best is the one that stays
    out: the card says so instead of 'not enough to judge'."""
    rng = np.random.default_rng(3)
    search = rng.normal(-0.001, 0.01, size=(400, 20))
    search[:, 7] = 0.0
    card = judge(search, 7, np.zeros(100))
    assert card.winner_idle and card.dsr == 0.0 and not card.passes
    assert card.verdict.startswith("no evidence of skill") and "never trades" in card.verdict


def test_a_search_where_most_trials_never_trade_is_called_degenerate() -> None:
    """A new user's Bollinger search (period 10-60, k up to 3.5) where most sets can never
    signal printed 'PBO 0.00': a PBO over columns of zeros reads as 'not overfit'. Never-trading
    trials are left out of PBO's matrix, counted, and a search where most of them never traded
    is degenerate: the card says so and the gate refuses it."""
    rng = np.random.default_rng(5)
    search = np.zeros((400, 10))
    search[:, :3] = rng.normal(0.002, 0.01, size=(400, 3))  # three sets trade (and win)
    card = judge(search, 0, rng.normal(0.002, 0.01, 100))
    assert card.idle_trials == 7 and card.degenerate and not card.passes
    assert card.pbo == probability_of_overfitting(search[:, :3], 16).pbo  # the trading columns only
    assert card.verdict.startswith("no evidence of skill: a degenerate search — 7 of 10 trials never traded")
    assert "PBO and DSR are not meaningful" in card.verdict
    one = judge(np.column_stack([search[:, 0], np.zeros((400, 4))]), 0, None)
    assert one.pbo is None and one.idle_trials == 4 and one.degenerate
    few = judge(
        np.column_stack([search[:, :3], rng.normal(0.0, 0.01, (400, 2)), np.zeros((400, 1))]), 0, None
    )
    assert few.idle_trials == 1 and not few.degenerate and "(1 never traded, left out of PBO)" in few.verdict


def test_cpcv_gives_the_papers_number_of_paths_and_sees_a_planted_skill() -> None:
    """N=6 groups, k=2: C(6,2) = 15 splits and φ = 2/6·15 = 5 paths. A trial that is good
    everywhere is picked on every split (its paths are its own returns); noise trials give
    paths around zero."""
    from botrader.core.research.cpcv import cpcv_paths

    rng = np.random.default_rng(11)
    noise = rng.normal(0.0, 0.01, size=(600, 20))
    found = cpcv_paths(noise)
    assert found is not None and found.splits == 15 and len(found.sharpes) == 5
    assert abs(found.median) < 0.1
    skilled = noise.copy()
    skilled[:, 3] += 0.01  # Sharpe about 1 per period, everywhere
    picked = cpcv_paths(skilled)
    assert picked is not None and picked.quantile(0.0) > 0.7
    assert cpcv_paths(noise[:20]) is None  # too few periods for six groups


def test_independent_trials_follow_the_dsr_papers_estimate() -> None:
    """N̂ = ρ̄ + (1 − ρ̄)·M on hand-made cases: copies count once, uncorrelated columns fully."""
    from botrader.core.research.sharpe import independent_trials

    a, b, c = [1.0, 1, -1, -1], [1.0, -1, 1, -1], [1.0, -1, -1, 1]  # pairwise uncorrelated
    assert independent_trials(np.column_stack([a, a, a, a, a])) == pytest.approx(1.0)
    assert independent_trials(np.column_stack([a, b, c])) == pytest.approx(3.0)
    assert independent_trials(np.column_stack([a, a, b])) == pytest.approx(1 / 3 + 2 / 3 * 3)
    assert independent_trials(np.column_stack([a, np.zeros(4)])) == 2.0  # too few that vary: as run


def test_near_copies_deflate_less_but_the_gate_counts_every_trial() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(0.0005, 0.01, 400)
    copies = np.column_stack([base + rng.normal(0, 0.0005, 400) for _ in range(50)])
    card = judge(copies, 0, None)
    assert card.independent_trials is not None and card.independent_trials < 2
    assert card.dsr_independent is not None and card.dsr is not None
    assert card.dsr_independent > card.dsr  # the same Sharpe, deflated for ~1 trial instead of 50
