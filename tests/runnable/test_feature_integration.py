"""Feature-integration search: the serial spotlight against a loop and against the closed form for
self-terminating search (uniform on 1..n, mean (n + 1)/2, exactly, over every visiting order),
the least-squares fit against the textbook formula, and the qualitative slopes."""
from __future__ import annotations

import itertools
import math

import pytest
import torch

from runnable.feature_integration import (GREEN, HORIZONTAL, RED, VERTICAL, demo, fit_line, make_displays,
                                          naive_serial_search, parallel_search, search_times, serial_search)

SIGMAS = 4.5                  # Monte-Carlo means: 4.5 standard errors
FLAT = 0.002                  # |feature-search slope| below 2 ms per item
RATIO = (1.7, 2.3)            # absent/present conjunction slope ratio: 2 in expectation


def test_every_visiting_order_of_four_items(device):
    """All 24 orders over a 4-item display: the target is found after exactly 1, 2, 3, 4 items six times
    each (mean (n + 1)/2 = 2.5); without a target all 4 are examined every time."""
    for present, expected in [(True, {1: 6, 2: 6, 3: 6, 4: 6}), (False, {4: 24})]:
        maps = make_displays("conjunction", 4, present, 1, grid=2, generator=torch.Generator().manual_seed(0))
        orders = torch.tensor(list(itertools.permutations(range(4))), dtype=torch.float32)
        found, examined = serial_search(maps.expand(24, -1, -1).to(device), orders.to(device))
        assert torch.all(found == present)
        counts = {int(k): int(v) for k, v in zip(*torch.unique(examined.cpu(), return_counts=True))}
        assert counts == expected


def test_serial_search_matches_the_loop(device):
    generator = torch.Generator().manual_seed(1)
    for present in (True, False):
        maps = make_displays("conjunction", 9, present, 40, generator=generator)
        order = torch.rand(40, 36, generator=generator)
        found, examined = serial_search(maps.to(device), order.to(device))
        ref_found, ref_examined = naive_serial_search(maps, order)
        assert torch.equal(found.cpu(), ref_found) and torch.equal(examined.cpu(), ref_examined)


@pytest.mark.parametrize("n", [1, 5, 15, 30])
def test_items_examined_match_the_closed_form(device, n):
    trials = 4000
    _, answer, examined = search_times("conjunction", n, True, trials, generator=torch.Generator().manual_seed(n),
                                       device=device)
    mean, sd = (n + 1) / 2, math.sqrt((n * n - 1) / 12)   # mean and s.d. of the uniform on {1..n}
    assert answer.all()
    assert abs(examined.float().mean().item() - mean) <= SIGMAS * sd / math.sqrt(trials) + 1e-9
    assert examined.min() >= 1 and examined.max() <= n
    _, answer, examined = search_times("conjunction", n, False, 50, device=device)
    assert not answer.any() and torch.all(examined == n)


def test_feature_maps_and_parallel_stage(device):
    generator = torch.Generator().manual_seed(2)
    for present in (True, False):
        maps = make_displays("feature", 15, present, 200, generator=generator).to(device)
        assert torch.all(maps.sum((1, 2)) == 2 * 15)                          # one colour, one orientation each
        assert torch.all(parallel_search(maps, RED) == present)
        conjunction = make_displays("conjunction", 15, present, 200, generator=generator).to(device)
        both_types = (conjunction[:, GREEN].sum(-1) > 0) & (conjunction[:, HORIZONTAL].sum(-1) > 0)
        # With both distractor types on show, every map is active, present or not: no single map decides.
        for feature in (RED, GREEN, VERTICAL, HORIZONTAL):
            assert torch.all(parallel_search(conjunction[both_types], feature))


def test_fit_line_is_least_squares(device):
    """Against slope = cov(x, y)/var(x), intercept = ȳ − slope x̄."""
    x = torch.tensor([1.0, 5.0, 15.0, 30.0], dtype=torch.float64, device=device)
    y = torch.tensor([0.50, 0.61, 0.83, 1.24], dtype=torch.float64, device=device)
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    got = fit_line(x, y)
    assert got[0] == pytest.approx(slope.item(), abs=1e-12)
    assert got[1] == pytest.approx((y.mean() - slope * x.mean()).item(), abs=1e-12)


def test_slopes_flat_for_features_linear_for_conjunctions_absent_twice_present(device):
    generator, sizes, slopes = torch.Generator().manual_seed(3), [1, 5, 15, 30], {}
    for kind in ("feature", "conjunction"):
        for present in (True, False):
            means = [search_times(kind, n, present, 800, generator=generator, device=device)[0].mean().item()
                     for n in sizes]
            slopes[kind, present] = fit_line(torch.tensor(sizes, dtype=torch.float64),
                                              torch.tensor(means, dtype=torch.float64))[0]
    assert abs(slopes["feature", True]) < FLAT and abs(slopes["feature", False]) < FLAT
    assert slopes["conjunction", True] > 0.015
    assert RATIO[0] < slopes["conjunction", False] / slopes["conjunction", True] < RATIO[1]


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["errors"] == 0
    assert abs(result["slopes"]["feature present"]) < FLAT and abs(result["slopes"]["feature absent"]) < FLAT
    assert RATIO[0] < result["ratio"] < RATIO[1]
    assert result["slopes"]["conjunction present"] == pytest.approx(0.025, abs=0.005)  # item_time / 2
