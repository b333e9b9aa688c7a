"""Posner cueing: valid < neutral < invalid, the accumulator against the noiseless closed form and
against the mean first-passage time a / v, and the spotlight's gain against its formula."""
from __future__ import annotations

import math

import pytest
import torch

from runnable.spatial_cueing import (CONDITIONS, Observer, demo, reaction_times, noiseless_rt, shift_time,
                                     spotlight_gain)

SIGMAS = 4.5  # Monte-Carlo means: 4.5 standard errors


def test_spotlight_gain_formula(device):
    observer = Observer()
    x = torch.linspace(-3, 3, 13, dtype=torch.float64, device=device)
    expected = torch.tensor([0.5 + math.exp(-(v - 1) ** 2 / 2) for v in x.tolist()], dtype=torch.float64, device=device)
    torch.testing.assert_close(spotlight_gain(x, 1.0, observer), expected, atol=1e-12, rtol=0)
    assert spotlight_gain(1.0, 1.0, observer) == observer.high
    assert spotlight_gain(50.0, 1.0, observer) == pytest.approx(observer.low)


def test_shift_times():
    observer = Observer()
    assert shift_time(1.0, 1.0, observer) == 0
    assert shift_time(0.0, 1.0, observer) == pytest.approx(observer.latency + 1 / observer.speed)
    assert shift_time(-1.0, 1.0, observer) == pytest.approx(observer.latency + 2 / observer.speed)


@pytest.mark.parametrize("observer", [Observer(noise=0.0), Observer(noise=0.0, latency=0.2, speed=5.0),
                                      Observer(noise=0.0, drift=2.0, low=0.1)], ids=["default", "slow", "weak"])
def test_noiseless_accumulator_matches_the_closed_form(device, observer):
    """σ = 0: the first step whose end is at or past the crossing time, so RT − closed form ∈ [0, dt]
    (plus float32 rounding of the cumulative sum, well below one step)."""
    for focus, target in CONDITIONS.values():
        rts, reached = reaction_times(focus, target, 2, observer, device=device)
        assert reached.all()
        gap = rts[0].item() - noiseless_rt(focus, target, observer)
        assert -1e-6 <= gap <= observer.dt + 1e-6
        assert rts[0] == rts[1]


def test_mean_first_passage_time_without_a_shift(device):
    """Valid cue: constant drift v, so the mean first-passage time to a is a / v (Brownian motion with
    drift). The Euler walk overshoots by about 0.58 σ √dt in evidence and is read at step ends (dt)."""
    observer, trials = Observer(), 8000
    rts, _ = reaction_times(1.0, 1.0, trials, observer, torch.Generator().manual_seed(1), device)
    v = observer.drift * observer.high
    discretisation = 0.6 * observer.noise * math.sqrt(observer.dt) / v + observer.dt
    expected = observer.non_decision + observer.threshold / v
    assert -SIGMAS * rts.std().item() / math.sqrt(trials) <= rts.mean().item() - expected
    assert rts.mean().item() - expected <= SIGMAS * rts.std().item() / math.sqrt(trials) + discretisation


def test_valid_faster_than_neutral_faster_than_invalid(device):
    generator, observer, trials = torch.Generator().manual_seed(2), Observer(), 3000
    stats = {}
    for name, (focus, target) in CONDITIONS.items():
        rts, reached = reaction_times(focus, target, trials, observer, generator, device)
        assert reached.all()
        stats[name] = (rts.mean().item(), rts.std().item() / math.sqrt(trials))
    for faster, slower in [("valid", "neutral"), ("neutral", "invalid")]:
        margin = SIGMAS * math.hypot(stats[faster][1], stats[slower][1])
        assert stats[faster][0] + margin < stats[slower][0], (faster, slower, stats)


def test_an_instant_uniform_spotlight_removes_the_cueing_effect(device):
    """Control: equal gain everywhere and no shift time, so the cue cannot matter."""
    observer = Observer(low=1.0, high=1.0, latency=0.0, speed=math.inf, noise=0.0)
    times = [noiseless_rt(f, t, observer) for f, t in CONDITIONS.values()]
    assert max(times) - min(times) < 1e-12
    simulated = [reaction_times(f, t, 1, observer, device=device)[0].item() for f, t in CONDITIONS.values()]
    assert max(simulated) - min(simulated) < 1e-9


def test_demo_runs_and_agrees(device):
    result = demo(device)
    rt = result["mean_rt"]
    assert rt["valid"] < rt["neutral"] < rt["invalid"]
    assert result["missed"] == 0
    assert abs(rt["valid"] - result["wald_valid"]) < 0.01
