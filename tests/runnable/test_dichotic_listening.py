"""The three selection theories against their qualitative predictions (Cherry's shadowing, Moray's
own name), recognition rates against the closed form 1 − Φ((θ/g − 1)/σ), and late selection
against a loop over time steps."""
from __future__ import annotations

import math

import pytest
import torch

from runnable.dichotic_listening import (OWN_NAME, THEORIES, SelectionTheory, demo, dictionary, expected_recognition,
                                         listen, make_streams, rates, recognise, select)

TRIALS = 4000
SIGMAS = 4.5  # Monte-Carlo rates: allow 4.5 binomial standard errors (fails by chance ~1e-5 per check)


def streams(seed=0, trials=TRIALS, noise_sd=0.3):
    generator = torch.Generator().manual_seed(seed)
    words = make_streams(trials, 10, 50, generator)
    return words, noise_sd * torch.randn(words.shape, generator=generator)


def run(theory, device, seed=0):
    thresholds, importance = dictionary(device=device)
    words, noise = streams(seed)
    return rates(words, listen(theory, words, noise, thresholds, importance))


def test_streams_hold_one_own_name_per_trial_in_the_unattended_ear():
    words, _ = streams()
    assert torch.all((words[:, 1] == OWN_NAME).sum(-1) == 1)
    assert not torch.any(words[:, 0] == OWN_NAME)


def test_filter_never_passes_the_unattended_ear(device):
    """Broadbent: g = 0 cuts the channel off before recognition, whatever the noise or threshold."""
    r = run(THEORIES[0], device)
    assert r["own name"] == 0 and r["other words"] == 0
    assert r["shadowed"] > 0.9


def test_attenuation_sometimes_passes_the_own_name_and_more_than_other_words(device):
    r = run(THEORIES[1], device)
    assert 0.1 < r["own name"] < 0.9            # sometimes, not always (Moray's finding, qualitatively)
    assert r["own name"] > 20 * max(r["other words"], 1e-4)
    assert r["other words"] < 0.01              # Cherry: almost nothing else of the rejected message


def test_late_selection_passes_the_own_name_and_costs_the_attended_word(device):
    thresholds, importance = dictionary(device=device)
    words, noise = streams()
    aware = listen(THEORIES[2], words, noise, thresholds, importance)
    r = rates(words, aware)
    assert r["own name"] > 0.9 and r["other words"] < 0.1
    # At the moment the name wins, the attended word there loses: at most one word per step reaches awareness.
    assert torch.all(aware.sum(1) <= 1)


@pytest.mark.parametrize("gain", [0.2, 0.25, 0.4, 0.7, 1.0])
def test_recognition_rate_matches_the_closed_form(device, gain):
    thresholds, _ = dictionary(device=device)
    words, noise = streams(seed=1)
    recognised = recognise(words.to(device), torch.tensor([1.0, gain], device=device), thresholds, noise.to(device))
    unattended, name = recognised[:, 1], words[:, 1].to(device) == OWN_NAME
    for mask, threshold in [(name, 0.28), (~name, 0.5)]:
        p, n = expected_recognition(gain, threshold, 0.3), int(mask.sum())
        assert abs(unattended[mask].float().mean().item() - p) <= SIGMAS * math.sqrt(p * (1 - p) / n) + 1e-9


def test_closed_form_limits():
    assert expected_recognition(0.0, 0.28, 0.3) == 0
    assert expected_recognition(1.0, 1.0, 0.3) == pytest.approx(0.5)        # threshold at the mean evidence
    assert expected_recognition(0.5, 0.5 * (1 + 0.3), 0.3) == pytest.approx(0.5 * math.erfc(1 / math.sqrt(2)))


def test_late_selection_matches_a_loop(device):
    """Reference: at each step, the recognised words with the largest task + word importance pass."""
    generator = torch.Generator().manual_seed(2)
    words = torch.randint(0, 5, (6, 2, 7), generator=generator)
    recognised = torch.rand(6, 2, 7, generator=generator) > 0.3
    importance, task = torch.tensor([2.0, 0.0, 0.0, 1.0, 0.0]), torch.tensor([1.0, 0.0])
    got = select(words.to(device), recognised.to(device), importance.to(device), task.to(device), late=True).cpu()
    for n in range(6):
        for t in range(7):
            levels = {c: task[c].item() + importance[words[n, c, t]].item() for c in range(2) if recognised[n, c, t]}
            for c in range(2):
                assert bool(got[n, c, t]) == (c in levels and levels[c] == max(levels.values()))
    assert torch.equal(select(words, recognised, importance, task, late=False), recognised)


def test_gain_one_early_selection_lets_everything_recognised_through(device):
    """Without the filter and without late selection, the unattended ear is as good as the attended one."""
    r = run(SelectionTheory("no selection", 1.0), device)
    assert abs(r["other words"] - r["shadowed"]) < 0.02


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 0.04
    filter_, attenuation, late = (result["rates"][name] for name in result["names"])
    assert filter_["own name"] == 0 < attenuation["own name"] < late["own name"]
    assert attenuation["own name"] > attenuation["other words"]
    assert all(r["shadowed"] > 0.8 for r in result["rates"].values())
