"""Sperling's whole and partial report: the exponential icon, the closed-form expectations, the
transfer times against the cumulative hazard written out directly, and the qualitative shape
(partial > whole at zero delay, the advantage shrinking to nothing as the cue is delayed)."""
from __future__ import annotations

import math

import pytest
import torch

from runnable.partial_report import (demo, expected_available, expected_whole_report, legibility, simulate,
                                     transfer_times)

EXACT = dict(atol=1e-6, rtol=1e-6)  # float32 exp/log of O(1) numbers
SIGMAS = 4.5                        # Monte-Carlo means: 4.5 standard errors


def test_legibility_is_the_exponential(device):
    t = torch.linspace(0, 2, 21, device=device)
    expected = torch.tensor([math.exp(-x / 0.3) for x in t.tolist()], device=device)
    torch.testing.assert_close(legibility(t, 0.3), expected, **EXACT)
    half_life = torch.tensor(0.3 * math.log(2), device=device)
    torch.testing.assert_close(legibility(half_life, 0.3), torch.tensor(0.5, device=device), **EXACT)


def test_closed_form_ends(device):
    """At d = 0 the reader gives the cued row all its throughput; as d → ∞ the estimate is whole report."""
    r, tau = 20.0, 0.3
    at_zero = expected_available(torch.tensor([0.0], device=device), rate=r, tau=tau).item()
    assert at_zero == pytest.approx(12 * (1 - math.exp(-r * tau / 4)), rel=1e-6)
    late = expected_available(torch.tensor([100.0], device=device), rate=r, tau=tau).item()
    assert late == pytest.approx(expected_whole_report(12, r, tau), rel=1e-6)
    d = torch.linspace(0, 3, 61, device=device)
    assert torch.all(expected_available(d, rate=r, tau=tau).diff() < 0)  # the advantage only shrinks


def cumulative_hazard(t, d, cued, rows=3, columns=4, rate=20.0, tau=0.3):
    """H(t) = ∫_0^t hazard, written directly from the model: r a(s)/N before the cue, r a(s)/C after it
    for the cued row, 0 after it for the others."""
    rt, items = rate * tau, rows * columns
    before = rt / items * (1 - math.exp(-min(t, d) / tau))
    after = rt / columns * (math.exp(-d / tau) - math.exp(-t / tau)) if cued and t > d else 0.0
    return before + after


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.4, math.inf])
def test_transfer_times_invert_the_cumulative_hazard(device, delay):
    generator = torch.Generator().manual_seed(1)
    exposures = torch.empty(50, 12, dtype=torch.float64).exponential_(generator=generator)
    d = torch.full((1, 1, 1), delay, dtype=torch.float64, device=device)
    times = transfer_times(exposures.to(device), d, 3, 4, 20.0, 0.3)[0].cpu()
    for m in range(50):
        for i in range(12):
            e, t = exposures[m, i].item(), times[m, i].item()
            if math.isinf(t):
                assert cumulative_hazard(math.inf, delay, i < 4) <= e
            else:
                assert cumulative_hazard(t, delay, i < 4) == pytest.approx(e, abs=1e-9)


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.5, 1.0])
def test_simulation_matches_the_closed_form(device, delay):
    generator = torch.Generator().manual_seed(2)
    delays = torch.tensor([delay], device=device)
    whole, partial = simulate(delays, trials=20000, generator=generator)
    expected = expected_available(delays).item()
    assert abs(partial.mean().item() - expected) <= SIGMAS * partial.std().item() / math.sqrt(20000)
    assert abs(whole.mean().item() - expected_whole_report(12, 20.0, 0.3)) <= SIGMAS * whole.std().item() / math.sqrt(20000)


@pytest.mark.parametrize("capacity", [None, 4, 5])
def test_partial_beats_whole_report_and_converges_to_it(device, capacity):
    generator = torch.Generator().manual_seed(3)
    delays = torch.tensor([0.0, 0.15, 0.3, 0.5, 1.0, 2.0], device=device)
    whole, partial = simulate(delays, trials=8000, capacity=capacity, generator=generator)
    advantage = partial.mean(-1) - whole.mean()
    assert advantage[0] > 3                              # well above whole report at zero delay
    assert torch.all(advantage.diff() < 0.05)            # shrinking (up to Monte-Carlo noise)
    assert abs(advantage[-1]) < 0.15                     # gone after a couple of seconds
    if capacity is not None:
        assert whole.max() <= capacity and partial.max() <= 3 * min(capacity, 4)


def test_capacity_caps_whole_report_for_any_array_size(device):
    generator = torch.Generator().manual_seed(4)
    delays = torch.tensor([0.0], device=device)
    for rows, columns in [(3, 4), (4, 6), (6, 8)]:
        whole, _ = simulate(delays, trials=2000, rows=rows, columns=columns, rate=60.0, capacity=4, generator=generator)
        assert whole.max() <= 4 and whole.mean() > 3.5


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 0.15
    assert result["partial"][0] > result["whole"] + 4
    assert torch.all(result["partial"] > result["whole"] - 0.15)
    assert result["partial"][-1] - result["whole"] < 0.5
