"""Structured attention: a linear-chain CRF's marginals as weights (Kim, Denton, Hoang & Rush; bib: kim2017structured).

Softmax attention picks one position: p(z = i | x, q) over i = 1..n. Structured attention
instead puts a graphical model over latent choices and uses its marginals as the weights.
For segmentation, each position gets a binary variable z_i ∈ {0, 1} (selected or not) and
the variables form a linear chain with unary and pairwise log-potentials,

    p(z_1..z_n | x, q) ∝ exp( Σ_i θ_i(z_i) + Σ_{i<n} θ_{i,i+1}(z_i, z_{i+1}) )
    attention weight of i = p(z_i = 1 | x, q),    context c = Σ_i p(z_i = 1 | x, q) v_i

Here θ_i(1) = x_iᵀ W q, θ_i(0) = 0 (a bilinear query–key score) and θ_{i,i+1} is one learned
2 × 2 table shared by all neighbouring pairs; a positive θ(0,0) + θ(1,1) - θ(0,1) - θ(1,0)
rewards neighbours that agree, so whole segments switch on together. The marginals do not sum
to one: any number of positions, from none to all, can be selected. With θ_{i,i+1} = 0 the
variables are independent and p(z_i = 1) = sigmoid(θ_i(1) - θ_i(0)), the Bernoulli (sigmoid)
attention the paper also considers. The paper's other structured attention (a parsing model
over subtrees, inside–outside) is not in this module, nor how particular experiments rescale
the weights.

The marginals come from the forward–backward algorithm, in log space so that large scores
do not overflow (ψ_i(z, z') = θ_{i,i+1}(z, z') + θ_{i+1}(z')):

    α_1(z) = θ_1(z),    α_{i+1}(z') = logsumexp_z [α_i(z) + ψ_i(z, z')]
    β_n(z) = 0,         β_i(z)      = logsumexp_z' [ψ_i(z, z') + β_{i+1}(z')]
    log Z = logsumexp_z α_n(z),    p(z_i = k) = exp(α_i(k) + β_i(k) - log Z)

which costs O(n) instead of the 2^n terms of the sum written out. Every step is differentiable,
so gradients reach the scores through the marginals; here autograd differentiates the recursion.

`brute_force_marginals` is the slow reference: it scores all 2^n assignments and adds them up.

Differences from the paper:
- Only the linear-chain (segmentation) attention is implemented; the paper's syntactic attention (a
  parsing model over subtrees, inside–outside) and the experiments' rescaling of the weights are
  not.
- The marginals come from forward–backward in log space and autograd differentiates it; the paper
  derives the backward pass by hand.

Shapes: unary (..., n, 2); pairwise (..., 2, 2) shared by every edge, or (..., n-1, 2, 2) per
edge with the same leading dims as unary; marginals (..., n, 2).
"""
from __future__ import annotations

import itertools

import torch
from torch import nn


def _edges(unary, pairwise):
    """Per-edge potentials (..., n-1, 2, 2) from either layout."""
    n = unary.shape[-2]
    if pairwise.dim() == unary.dim() + 1:                      # already one table per edge
        return pairwise.expand(*unary.shape[:-2], n - 1, 2, 2)
    return pairwise.unsqueeze(-3).expand(*unary.shape[:-2], n - 1, 2, 2)


def crf_marginals(unary, pairwise):
    """p(z_i = k | x, q) for a chain of binary variables by forward–backward: (..., n, 2)."""
    n, edges = unary.shape[-2], _edges(unary, pairwise)
    alpha, beta = [unary[..., 0, :]], [torch.zeros_like(unary[..., 0, :])]
    for i in range(n - 1):                                     # α_{i+1}(z') = logsumexp_z α_i(z) + ψ_i(z, z')
        psi = edges[..., i, :, :] + unary[..., i + 1, None, :]
        alpha.append(torch.logsumexp(alpha[-1][..., :, None] + psi, dim=-2))
    for i in reversed(range(n - 1)):                           # β_i(z) = logsumexp_z' ψ_i(z, z') + β_{i+1}(z')
        psi = edges[..., i, :, :] + unary[..., i + 1, None, :]
        beta.insert(0, torch.logsumexp(psi + beta[0][..., None, :], dim=-1))
    alpha, beta = torch.stack(alpha, -2), torch.stack(beta, -2)
    log_z = torch.logsumexp(alpha[..., -1, :], dim=-1)
    return torch.exp(alpha + beta - log_z[..., None, None])


def log_partition(unary, pairwise):
    """log Z by the forward recursion alone: (...)."""
    edges, alpha = _edges(unary, pairwise), unary[..., 0, :]
    for i in range(unary.shape[-2] - 1):
        alpha = torch.logsumexp(alpha[..., :, None] + edges[..., i, :, :] + unary[..., i + 1, None, :], dim=-2)
    return torch.logsumexp(alpha, dim=-1)


def brute_force_marginals(unary, pairwise):
    """The same marginals by scoring all 2^n assignments and summing: the slow reference."""
    n, edges = unary.shape[-2], _edges(unary, pairwise)
    z = torch.tensor(list(itertools.product([0, 1], repeat=n)), device=unary.device)   # (2^n, n)
    score = unary[..., torch.arange(n, device=unary.device), z].sum(-1)                # Σ_i θ_i(z_i)
    if n > 1:
        score = score + edges[..., torch.arange(n - 1, device=unary.device), z[:, :-1], z[:, 1:]].sum(-1)
    p = torch.softmax(score, dim=-1)                                                   # p(z), (..., 2^n)
    one_hot = nn.functional.one_hot(z, 2).to(unary.dtype)                              # (2^n, n, 2)
    return torch.einsum("...a,ank->...nk", p, one_hot)


class SegmentationAttention(nn.Module):
    """θ_i(1) = x_iᵀ W q, a shared 2 × 2 pairwise table, and the context Σ_i p(z_i = 1) v_i."""

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        self.W = nn.Linear(query_size, key_size, bias=False)
        self.pairwise = nn.Parameter(torch.zeros(2, 2))

    def forward(self, query, keys, values=None, padding_mask=None):
        """query (B, d_q), keys (B, n, d), values (B, n, d_v) (default: keys), padding_mask (B, n)
        True at padding. Padded positions are forced to z = 0 and cut off from the chain, so the
        result equals running on the unpadded sequence. Returns context (B, d_v), weights (B, n)."""
        values = keys if values is None else values
        score = torch.einsum("bnd,bd->bn", keys, self.W(query))                     # θ_i(1)
        n = keys.shape[1]
        edges = self.pairwise.expand(keys.shape[0], max(n - 1, 0), 2, 2)
        if padding_mask is not None:
            score = score.masked_fill(padding_mask, float("-inf"))                  # p(z_i = 1) = 0 there
            cut = padding_mask[:, :-1] | padding_mask[:, 1:]                        # edges touching padding
            edges = edges.masked_fill(cut[..., None, None], 0.0)
        unary = torch.stack([torch.zeros_like(score), score], dim=-1)               # θ_i(0) = 0
        weights = crf_marginals(unary, edges)[..., 1]
        return torch.einsum("bn,bnv->bv", weights, values), weights


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Twelve positions whose scores mark a segment 4..8 (one weak score inside it) and one
    isolated spike at 11: softmax, independent sigmoids and the CRF with agreeing neighbours."""
    torch.manual_seed(seed)
    score = torch.tensor([-2.0, -1.6, -2.2, 1.8, 0.9, -0.4, 1.5, 1.2, -1.9, -2.1, 0.8, -1.8], device=device)
    agree = torch.tensor([[1.0, -1.0], [-1.0, 1.0]], device=device)                # rewards z_i = z_{i+1}
    unary = torch.stack([torch.zeros_like(score), score], -1)
    weights = {"softmax": torch.softmax(score, -1),
               "sigmoid": crf_marginals(unary, torch.zeros(2, 2, device=device))[:, 1],
               "CRF marginals": crf_marginals(unary, agree)[:, 1]}
    brute = brute_force_marginals(unary.double(), agree.double())[:, 1]
    error = (weights["CRF marginals"].double() - brute).abs().max().item()
    closed = (weights["sigmoid"] - torch.sigmoid(score)).abs().max().item()
    print("position        " + " ".join(f"{i:>5}" for i in range(1, 13)))
    print("score θ_i(1)    " + " ".join(f"{s:5.1f}" for s in score.tolist()))
    for name, w in weights.items():
        print(f"{name:<15} " + " ".join(f"{x:5.2f}" for x in w.tolist()) + f"   sum {w.sum():.2f}")
    crf, sigmoid = weights["CRF marginals"], weights["sigmoid"]
    print(f"CRF: segment 4..8 weights {crf[3:8].min():.2f}..{crf[3:8].max():.2f}; the weak position 6 is pulled "
          f"up from {sigmoid[5]:.2f} to {crf[5]:.2f}, the isolated spike at 11 down from {sigmoid[10]:.2f} to {crf[10]:.2f}")
    print(f"max |forward-backward - brute force over 2^12 assignments| = {error:.2e} (tolerance 1e-5)")
    print(f"no pairwise: max |marginal - sigmoid(score)| = {closed:.2e}")
    return {"weights": torch.stack([w.cpu() for w in weights.values()]), "names": list(weights),
            "score": score.cpu(), "max_error": error, "sigmoid_error": closed}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
