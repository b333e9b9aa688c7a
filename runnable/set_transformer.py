"""Set Transformer: attention blocks for sets (Lee et al.; bib: lee2019set).

Every block is built from one multihead attention block (MAB), a Transformer encoder block
with no positional encoding:

    MAB(X, Y) = LayerNorm(H + rFF(H)),   H = LayerNorm(X + Multihead(X, Y, Y))
    Multihead(Q, K, V) = [O_1; ...; O_h] W^O,   O_j = softmax(Q W_j^Q (K W_j^K)^T / √(d/h)) V W_j^V

    SAB(X)     = MAB(X, X)                  self-attention over the set, n × n weights
    ISAB_m(X)  = MAB(X, MAB(I, X))          m learned inducing points I: m × n, then n × m weights
    PMA_k(Z)   = MAB(S, rFF(Z))             k learned seed vectors S pool the set into k vectors

rFF is a row-wise feed-forward layer (here Linear-ReLU-Linear, applied to each element alone).
With no positions anywhere, permuting the rows of X permutes the rows of SAB(X) and ISAB(X)
(equivariance), and leaves PMA's output unchanged (invariance). ISAB costs O(n·m) instead of
SAB's O(n²).

This module follows the paper's equations (section 3.1), not the authors' released code
(github.com/juho-lee/set_transformer, modules.py, class MAB), which differs from them: it scales
the scores by 1/√d_V (the full width, not a head's width d/h), adds the projected queries Q W^Q as
the residual instead of X, has no output projection W^O, uses Linear + ReLU as a residual
feed-forward in place of rFF, applies LayerNorm only when ln=True (off by default), and its PMA
attends over Z itself, with no rFF(Z).

`MAB.multihead` is written out so that the tests can compare it with `torch.nn.MultiheadAttention`
given the same weights.

Differences from the paper:
- rFF is Linear–ReLU–Linear applied to each element alone; the paper leaves its form open.
- Nothing is trained on the paper's tasks (amortised clustering, point clouds): the demo learns the
  maximum of a set.

Shapes: B batch, n set size, d model width, h heads, m inducing points, k seeds.

Differences from the paper:
- rFF is Linear-ReLU-Linear; the paper leaves its form open.
- Dropout is left out.
"""
from __future__ import annotations

import torch
from torch import nn

from runnable._training import fit


def rff(d: int):
    """The row-wise feed-forward layer, applied to each element of a set on its own."""
    return nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))


class MAB(nn.Module):
    """The multihead attention block MAB(X, Y): the rows of X attend over the rows of Y, then a
    feed-forward layer, each with a residual and layer normalisation."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.h = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))   # W^Q, W^K, W^V, W^O
        self.norm1, self.norm2, self.rff = nn.LayerNorm(d), nn.LayerNorm(d), rff(d)
        self.weights = None                                                      # last attention, (B, h, n_x, n_y)

    def multihead(self, X, Y):
        """Multi-head attention written out (rather than nn.MultiheadAttention) so that the tests
        can compare it with torch given the same weights; keeps the weights for plotting."""
        B, n, d = X.shape
        split = lambda t: t.view(B, -1, self.h, d // self.h).transpose(1, 2)    # (B, h, rows, d/h)  # noqa: E731
        Q, K, V = split(self.q(X)), split(self.k(Y)), split(self.v(Y))
        self.weights = torch.softmax(Q @ K.transpose(-1, -2) / (d // self.h) ** 0.5, dim=-1)
        return self.o((self.weights @ V).transpose(1, 2).reshape(B, n, d))     # [O_1; ...; O_h] W^O

    def forward(self, X, Y):
        """X (B, n_x, d) attends over Y (B, n_y, d) → (B, n_x, d)."""
        H = self.norm1(X + self.multihead(X, Y))
        return self.norm2(H + self.rff(H))


class SAB(MAB):
    """Set attention block: the set attends over itself, O(n²)."""

    def forward(self, X):
        return super().forward(X, X)                                           # MAB(X, X)


class ISAB(nn.Module):
    """Induced set attention block: m learned inducing points attend over the set, then the set
    attends over the m results, O(n·m)."""

    def __init__(self, d: int, heads: int, inducing: int):
        super().__init__()
        self.I = nn.Parameter(torch.randn(1, inducing, d) / d ** 0.5)
        self.mab_in, self.mab_out = MAB(d, heads), MAB(d, heads)

    def forward(self, X):
        H = self.mab_in(self.I.expand(X.shape[0], -1, -1), X)                  # MAB(I, X): (B, m, d)
        return self.mab_out(X, H)                                              # MAB(X, H): (B, n, d)


class PMA(nn.Module):
    """Pooling by multihead attention: k learned seed vectors attend over the (feed-forward
    transformed) set, giving k outputs whatever the set's size."""

    def __init__(self, d: int, heads: int, seeds: int = 1):
        super().__init__()
        self.S = nn.Parameter(torch.randn(1, seeds, d) / d ** 0.5)
        self.mab, self.rff = MAB(d, heads), rff(d)

    def forward(self, Z):
        return self.mab(self.S.expand(Z.shape[0], -1, -1), self.rff(Z))       # (B, k, d)


class SetTransformer(nn.Module):
    """Embed each element, encode with ISAB_m blocks (SABs if inducing is None), pool with PMA_1, read out."""

    def __init__(self, in_size: int, out_size: int, d: int = 16, heads: int = 2, inducing: int | None = 4,
                 blocks: int = 1):
        super().__init__()
        block = (lambda: ISAB(d, heads, inducing)) if inducing else (lambda: SAB(d, heads))
        self.embed, self.encoder = nn.Linear(in_size, d), nn.Sequential(*(block() for _ in range(blocks)))
        self.pool, self.readout = PMA(d, heads, 1), nn.Linear(d, out_size)

    def forward(self, X):
        """Embed each element, encode the set with attention, pool it to one vector with PMA and
        read out."""
        return self.readout(self.pool(self.encoder(self.embed(X)))[:, 0])    # (B, out_size)


class DeepSets(nn.Module):
    """The sum-pooling baseline: ρ(Σ_i φ(x_i)), no interaction between elements before pooling."""

    def __init__(self, in_size: int, out_size: int, d: int = 64):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(in_size, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.rho = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, out_size))

    def forward(self, X):
        """The baseline without attention: ρ(Σ_i φ(x_i))."""
        return self.rho(self.phi(X).sum(1))


def max_task(device, count: int, n: int = 10):
    """Sets of n numbers drawn uniformly from [-2, 2]; the target is the largest. (Numbers much larger
    than 1 would saturate the LayerNorm after a linear embedding of a scalar.)"""
    X = 4 * torch.rand(count, n, 1, device=device) - 2
    return X, X.amax(1)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Train a Set Transformer (one ISAB_4 block, PMA_1) and the sum-pooling baseline briefly on
    max-of-a-set regression; check the symmetries the blocks promise."""
    torch.manual_seed(seed)
    steps, models = 200, {"Set Transformer": SetTransformer(1, 1).to(device), "sum pooling": DeepSets(1, 1).to(device)}

    def loss(model):
        X, y = max_task(device, 64)
        return (model(X) - y).abs().mean()

    for model in models.values():
        fit(model, loss, steps, lambda i: 5e-3 if i < 3 * steps // 4 else 1e-3)   # smaller steps at the end
    X, y = max_task(device, 1000)
    with torch.no_grad():
        predictions = {name: model(X)[:, 0] for name, model in models.items()}
        errors = {name: (p - y[:, 0]).abs().mean().item() for name, p in predictions.items()}
        errors["constant (median)"] = (y - y.median()).abs().mean().item()
        model = models["Set Transformer"]
        permutation = torch.randperm(X.shape[1], device=device)
        invariance = (model(X[:, permutation]) - model(X)).abs().max().item()
        encoded = model.encoder(model.embed(X[:4]))
        equivariance = (model.encoder(model.embed(X[:4, permutation])) - encoded[:, permutation]).abs().max().item()
        shapes = [tuple(model.encoder[0].mab_in.weights.shape), tuple(model.encoder[0].mab_out.weights.shape)]
    print(f"max of a set of 10 numbers in [-2, 2], {steps} steps of training each; mean |error| on 1000 sets:")
    for name, error in errors.items():
        print(f"  {name:>17}: {error:.3f}")
    print(f"ISAB attention weights, (B, heads, rows, columns): MAB(I, X) {shapes[0]}, MAB(X, H) {shapes[1]}")
    print(f"permute the set: encoder rows follow the permutation to {equivariance:.1e}, "
          f"pooled output changes by {invariance:.1e} (float32)")
    return {"errors": errors, "invariance": invariance, "equivariance": equivariance, "shapes": shapes,
            "target": y[:300, 0].cpu(), "predictions": {name: p[:300].cpu() for name, p in predictions.items()},
            "set": X[:8, :, 0].cpu(), "pooling_weights": model.pool.mab.weights[:8, :, 0].cpu()}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
