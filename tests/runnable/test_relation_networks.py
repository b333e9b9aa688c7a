"""Relation networks against the double loop over pairs, permutation invariance of the output, and
the contrast with attention: equal weights on every pair versus softmax weights."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from runnable.relation_networks import RelationNetwork, all_pairs, close_pairs, demo, naive_relation_network

EXACT = dict(atol=1e-10, rtol=1e-10)  # float64, sums of at most 64 pair terms


def setup(device, question_size=0, seed=0, n=5):
    torch.manual_seed(seed)
    rn = RelationNetwork(3, 4, question_size=question_size, hidden=8, relation=6).to(device, torch.float64)
    objects = torch.randn(2, n, 3, device=device, dtype=torch.float64)
    question = torch.randn(2, question_size, device=device, dtype=torch.float64) if question_size else None
    return rn, objects, question


def test_all_pairs_layout(device):
    objects = torch.arange(12.0, device=device).view(2, 3, 2)
    question = torch.tensor([[100.0], [200.0]], device=device)
    pairs = all_pairs(objects, question)
    assert pairs.shape == (2, 3, 3, 5)
    for b in range(2):
        for i in range(3):
            for j in range(3):
                assert pairs[b, i, j].tolist() == objects[b, i].tolist() + objects[b, j].tolist() + question[b].tolist()


@pytest.mark.parametrize("question_size", [0, 2])
def test_matches_the_double_loop(device, question_size):
    rn, objects, question = setup(device, question_size)
    torch.testing.assert_close(rn(objects, question), naive_relation_network(rn, objects, question), **EXACT)


@pytest.mark.parametrize("seed", range(5))
def test_output_is_invariant_to_the_order_of_the_objects(device, seed):
    """Property: any random permutation of the objects leaves RN(O) unchanged (up to summation order)."""
    rn, objects, question = setup(device, 2, seed=seed, n=7)
    permutation = torch.randperm(7, device=device)
    torch.testing.assert_close(rn(objects[:, permutation], question), rn(objects, question), **EXACT)


def test_pairs_count_with_equal_weight_and_the_sum_grows_with_the_set(device):
    """Closed form: with g(o_i, o_j) = o_j (an identity g), Σ_{i,j} g = n Σ_j o_j. Duplicating the
    set multiplies the pair sum by 4, while softmax attention of any query over the duplicated set
    is unchanged: attention averages over pairs, an RN adds them up."""
    rn = RelationNetwork(3, 3, hidden=6, relation=3).to(device, torch.float64)
    with torch.no_grad():
        for layer in rn.g:
            if isinstance(layer, torch.nn.Linear):
                layer.bias.zero_()
        first, second, third = [m for m in rn.g if isinstance(m, torch.nn.Linear)]
        first.weight.zero_()
        first.weight[:3, 3:] = torch.eye(3)                    # pick o_j
        first.weight[3:, 3:] = -torch.eye(3)                   # and -o_j, so ReLU(o_j) - ReLU(-o_j) = o_j
        second.weight.copy_(torch.eye(6))
        third.weight.copy_(torch.cat([torch.eye(3), -torch.eye(3)], 1))
    torch.manual_seed(1)
    objects = torch.randn(2, 4, 3, device=device, dtype=torch.float64)
    torch.testing.assert_close(rn.relation_sum(objects), 4 * objects.sum(1), **EXACT)
    doubled = torch.cat([objects, objects], 1)
    torch.testing.assert_close(rn.relation_sum(doubled), 4 * rn.relation_sum(objects), **EXACT)
    query = torch.randn(2, 1, 3, device=device, dtype=torch.float64)
    attend = lambda o: F.scaled_dot_product_attention(query, o, o)  # noqa: E731
    torch.testing.assert_close(attend(doubled), attend(objects), **EXACT)


def test_an_rn_sum_is_attention_with_all_scores_equal_times_n(device):
    """When g ignores o_i, each row i of the pair sum is n times uniform attention (zero scores)."""
    rn = RelationNetwork(3, 2, hidden=5, relation=4).to(device, torch.float64)
    objects = torch.randn(1, 6, 3, device=device, dtype=torch.float64)
    pairs = all_pairs(objects)
    pairs[..., :3] = 0                                            # g sees only o_j
    per_j = rn.g(pairs[:, 0])                                     # g(0, o_j)   (1, 6, 4)
    uniform = F.scaled_dot_product_attention(torch.zeros(1, 6, 1, device=device, dtype=torch.float64),
                                             torch.zeros(1, 6, 1, device=device, dtype=torch.float64), per_j)
    torch.testing.assert_close(rn.g(pairs).sum((1, 2)), 6 * uniform.sum(1), **EXACT)


def test_close_pairs_target(device):
    torch.manual_seed(2)
    points, count = close_pairs(device, 50, n=5)
    expected = [sum(float((points[b, i] - points[b, j]).norm()) < 1.2 for i in range(5) for j in range(i + 1, 5))
                for b in range(50)]
    assert count.tolist() == expected


def check_learning(result):
    rn, baseline = result["relation network"], result["sum of objects"]
    assert rn["mse"] < 0.25 * result["variance"] and rn["within one"] > 0.9
    assert rn["mse"] < 0.5 * baseline["mse"]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_claims_hold_for_other_seeds(seed):
    """Not one lucky seed: with seeds 0-4 the RN's error was 0.30-0.44 (variance 2.7-2.9, the
    per-object sum 1.82-2.36, within one 0.975-0.991) on the CPU; seeds 1 and 2 are checked here."""
    check_learning(demo("cpu", seed=seed))


def test_demo_runs_and_agrees(device):
    """The page's claims: the RN learns to count close pairs far better than the per-object sum
    and than the variance (a constant guess); its output ignores the order of the objects."""
    result = demo(device)
    assert result["max_error"] < 1e-4 and result["invariance"] < 1e-4
    check_learning(result)
