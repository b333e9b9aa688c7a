"""Relation networks (Santoro et al. 2017; bib: santoro2017simple).

A relation network reads a set of objects O = {o_1, ..., o_n}, with an optional question q,
by applying one shared MLP g_θ to every ordered pair and another MLP f_φ to the sum:

    RN(O) = f_φ( Σ_{i,j} g_θ(o_i, o_j, q) )

The sum runs over all n² ordered pairs, i = j included, each with the same weight 1. That is
the difference from attention: an attention head also looks at pairs, but weights them by a
softmax of their scores, so its output is an average that does not grow with n, while an RN's
pair sum does. Sharing g_θ across pairs and summing makes RN(O) invariant to the order of the
objects.

`all_pairs` builds the n × n grid of concatenated pairs, so g_θ runs on all of them in one call;
`naive_relation_network` is the double loop the tests compare it with.

Differences from the paper:
- g_θ and f_φ are small MLPs and objects are given as vectors: the paper's CNN and LSTM front ends
  and its CLEVR and bAbI tasks are left out.

Shapes: B batch, n objects, d object size, Q question size (0 for none), G the size of g's output.
"""
from __future__ import annotations

import torch
from torch import nn

from runnable._training import fit


def all_pairs(objects, question=None):
    """objects (B, n, d), question (B, Q) or None → pairs (B, n, n, 2d + Q), with
    pairs[b, i, j] = [o_i ; o_j ; q]."""
    B, n, d = objects.shape
    parts = [objects[:, :, None, :].expand(B, n, n, d), objects[:, None, :, :].expand(B, n, n, d)]
    if question is not None:
        parts.append(question[:, None, None, :].expand(B, n, n, question.shape[-1]))
    return torch.cat(parts, -1)


def mlp(*sizes):
    """A multilayer perceptron with ReLUs between its layers and none after the last."""
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])                          # no ReLU after the last layer


class RelationNetwork(nn.Module):
    """RN(O) = f_φ(Σ_{i,j} g_θ(o_i, o_j, q)): g_θ looks at every ordered pair of objects (with the
    question, if any), f_φ reads the sum."""

    def __init__(self, object_size: int, out_size: int, question_size: int = 0, hidden: int = 64, relation: int = 64):
        super().__init__()
        self.g = mlp(2 * object_size + question_size, hidden, hidden, relation)   # g_θ
        self.f = mlp(relation, hidden, out_size)                                   # f_φ

    def relation_sum(self, objects, question=None):
        """Σ_{i,j} g_θ(o_i, o_j, q): (B, G)."""
        return self.g(all_pairs(objects, question)).sum((1, 2))

    def forward(self, objects, question=None):
        """objects (B, n, d), question (B, Q) or None → RN(O) (B, out_size)."""
        return self.f(self.relation_sum(objects, question))


def naive_relation_network(rn: RelationNetwork, objects, question=None):
    """The double loop over ordered pairs, example by example: the reference the tests use."""
    out = []
    for b in range(objects.shape[0]):
        total = 0
        for i in range(objects.shape[1]):
            for j in range(objects.shape[1]):
                parts = [objects[b, i], objects[b, j]] + ([] if question is None else [question[b]])
                total = total + rn.g(torch.cat(parts))
        out.append(rn.f(total))
    return torch.stack(out)


def close_pairs(device, count: int, n: int = 6, radius: float = 1.2):
    """Points in the square [-2, 2]² (centred and spread out, which trains faster than the unit
    square); the target is how many unordered pairs lie closer than radius."""
    points = 4 * torch.rand(count, n, 2, device=device) - 2
    near = torch.cdist(points, points) < radius
    return points, (near.sum((1, 2)) - n) // 2                  # drop i = j, count each pair once


class SumOfObjects(nn.Module):
    """The per-object baseline (DeepSets-style): ρ(Σ_i φ(o_i)), also order-invariant, but with no pairs."""

    def __init__(self, object_size: int, out_size: int, hidden: int = 32):
        super().__init__()
        self.phi, self.rho = mlp(object_size, hidden, hidden, hidden), mlp(hidden, hidden, out_size)

    def forward(self, objects):
        """ρ(Σ_i φ(o_i)): the same budget as the relation network, but objects are summed one at a
        time, never in pairs."""
        return self.rho(self.phi(objects).sum(1))


def train(model, device, steps: int = 400, n: int = 6):
    """Regress the number of close pairs (mean squared error): the count is a sum over pairs, which
    is the shape of the RN's own sum."""
    def loss(model):
        points, count = close_pairs(device, 64, n)
        return nn.functional.mse_loss(model(points)[:, 0], count.float())

    fit(model, loss, steps, lambda i: 1e-2 if i < 3 * steps // 4 else 2e-3)   # smaller steps at the end
    return model


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Train an RN and the per-object baseline, 400 steps each, to count close pairs among six points;
    check the RN is invariant to the order of the points and agrees with the double loop."""
    torch.manual_seed(seed)
    n = 6
    rn = train(RelationNetwork(2, 1, hidden=32, relation=32).to(device), device)
    baseline = train(SumOfObjects(2, 1).to(device), device)
    with torch.no_grad():
        points, count = close_pairs(device, 2000, n)
        results = {}
        for name, model in [("relation network", rn), ("sum of objects", baseline)]:
            guess = model(points)[:, 0]
            results[name] = {"mse": (guess - count).pow(2).mean().item(),
                             "exact": (guess.round() == count).float().mean().item(),
                             "within one": ((guess.round() - count).abs() <= 1).float().mean().item()}
        variance = count.float().var().item()
        guess = rn(points)[:, 0]
        invariance = (rn(points[:, torch.randperm(n, device=device)])[:, 0] - guess).abs().max().item()
        error = (rn(points[:3]) - naive_relation_network(rn, points[:3])).abs().max().item()
    print(f"task: count the pairs closer than 1.2 among {n} random points; 2000 fresh sets, "
          f"variance of the count {variance:.2f}")
    for name, r in results.items():
        print(f"  {name:>16}: mean squared error {r['mse']:.2f}, exact {r['exact']:.3f}, within one {r['within one']:.3f}")
    print(f"max |RN(O) - RN(shuffled O)| = {invariance:.2e} (order of the objects does not matter)")
    print(f"max |batched - double loop| = {error:.2e} (tolerance 1e-4)")
    return {**results, "variance": variance, "invariance": invariance, "max_error": error,
            "count": count[:300].cpu(), "guess": guess[:300].cpu(), "model": rn}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
