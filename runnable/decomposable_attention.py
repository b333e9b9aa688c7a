"""Decomposable attention (Parikh, Täckström, Das & Uszkoreit; bib: parikh2016decomposable).

Two sentences, a = (a_1 … a_ℓa) and b = (b_1 … b_ℓb), given as word vectors, are compared in three
steps with three feed-forward networks F, G and H (here each two ReLU layers; H ends in a linear
layer giving class scores):

    attend:     e_ij = F(a_i)ᵀ F(b_j)
                β_i  = Σ_j [exp(e_ij) / Σ_k exp(e_ik)] b_j       (the part of b aligned to a_i)
                α_j  = Σ_i [exp(e_ij) / Σ_k exp(e_kj)] a_i       (the part of a aligned to b_j)
    compare:    v_1,i = G([a_i ; β_i]),    v_2,j = G([b_j ; α_j])
    aggregate:  v_1 = Σ_i v_1,i,   v_2 = Σ_j v_2,j,   ŷ = H([v_1 ; v_2])

Scoring through F(a_i)ᵀF(b_j) costs ℓa + ℓb applications of F instead of ℓa·ℓb of a network on
pairs. Nothing here knows word order: permuting either sentence permutes the e_ij and leaves the
sums unchanged. Padding is masked out of both softmaxes and both sums. The paper's optional
intra-sentence attention and its projection of the embeddings are not part of this module.

Padding is masked out of both softmaxes and out of both sums, so a padded batch gives each pair the
same result as running it alone. `naive_decomposable_attention` does the three steps one word at a
time.

Differences from the paper:
- F, G and H are two ReLU layers each, without the paper's dropout, and H ends in class scores
  without the softmax (left to the loss).
- The paper's optional intra-sentence attention and its projection of the GloVe embeddings are left
  out.
- Nothing is trained on SNLI: the demo uses a toy sentence pair with random weights.

Shapes: B batch, La and Lb padded lengths, D word-vector size, K hidden size, C classes.
"""
from __future__ import annotations

import torch
from torch import nn


def feedforward(inputs: int, hidden: int) -> nn.Sequential:
    """Two ReLU layers: the form used here for F, G and the first part of H."""
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())


class DecomposableAttention(nn.Module):
    """The three steps with their three networks: F scores the alignment, G compares each word with
    its aligned phrase, H classifies the two summed comparisons."""

    def __init__(self, word_size: int, hidden_size: int, classes: int = 3):
        super().__init__()
        self.F = feedforward(word_size, hidden_size)
        self.G = feedforward(2 * word_size, hidden_size)
        self.H = nn.Sequential(feedforward(2 * hidden_size, hidden_size), nn.Linear(hidden_size, classes))

    def attend(self, a, b, mask_a, mask_b):
        """Returns β (B, La, D), α (B, Lb, D) and the two soft alignments (B, La, Lb): softmax over j
        (each row, for a_i) and over i (each column, for b_j); zero wherever a or b is padding."""
        e = self.F(a) @ self.F(b).transpose(1, 2)                        # e_ij = F(a_i)ᵀ F(b_j)
        pair = mask_a[:, :, None] & mask_b[:, None, :]
        e = e.masked_fill(~pair, float("-inf"))
        # a padded row (or column) is all -inf; nan_to_num turns its 0/0 into weights of 0
        to_b = torch.softmax(e, dim=2).nan_to_num(0.0)                  # exp(e_ij) / Σ_k exp(e_ik)
        to_a = torch.softmax(e, dim=1).nan_to_num(0.0)                  # exp(e_ij) / Σ_k exp(e_kj)
        beta = to_b @ b                                                  # β_i = Σ_j … b_j
        alpha = to_a.transpose(1, 2) @ a                                 # α_j = Σ_i … a_i
        return beta, alpha, to_b, to_a

    def forward(self, a, b, mask_a=None, mask_b=None):
        """a (B, La, D), b (B, Lb, D), masks True on real words (every sentence needs one).
        Returns class scores ŷ (B, C) and the two soft alignments (B, La, Lb)."""
        if mask_a is None:
            mask_a = torch.ones(a.shape[:2], dtype=torch.bool, device=a.device)
        if mask_b is None:
            mask_b = torch.ones(b.shape[:2], dtype=torch.bool, device=b.device)
        beta, alpha, to_b, to_a = self.attend(a, b, mask_a, mask_b)
        v1 = self.G(torch.cat([a, beta], -1)) * mask_a[..., None]       # v_1,i, padding zeroed
        v2 = self.G(torch.cat([b, alpha], -1)) * mask_b[..., None]      # v_2,j
        return self.H(torch.cat([v1.sum(1), v2.sum(1)], -1)), to_b, to_a  # ŷ = H([Σ_i v_1,i ; Σ_j v_2,j])


def naive_decomposable_attention(model: DecomposableAttention, a, b, mask_a, mask_b):
    """The three steps one sentence pair and one word at a time, over real words only: the slow
    reference the tests compare against. Returns ŷ, β and α (padding rows of β, α left zero)."""
    B, La, D = a.shape
    ys, betas, alphas = [], torch.zeros_like(a), torch.zeros_like(b)
    for n in range(B):
        A = [a[n, i] for i in range(La) if mask_a[n, i]]
        Bs = [b[n, j] for j in range(b.shape[1]) if mask_b[n, j]]
        e = [[model.F(x) @ model.F(y) for y in Bs] for x in A]
        v1 = v2 = 0
        for i, x in enumerate(A):
            w = torch.softmax(torch.stack(e[i]), 0)
            betas[n, i] = sum(w[j] * Bs[j] for j in range(len(Bs)))
            v1 = v1 + model.G(torch.cat([x, betas[n, i]]))
        for j, y in enumerate(Bs):
            w = torch.softmax(torch.stack([e[i][j] for i in range(len(A))]), 0)
            alphas[n, j] = sum(w[i] * A[i] for i in range(len(A)))
            v2 = v2 + model.G(torch.cat([y, alphas[n, j]]))
        ys.append(model.H(torch.cat([v1, v2])))
    return torch.stack(ys), betas, alphas


PREMISE = "a man plays a guitar on stage".split()
HYPOTHESIS = "a person plays music".split()
RELATED = {"person": "man", "music": "guitar"}      # near-synonyms: close vectors, as trained embeddings give


def word_vectors(size: int = 16, device: torch.device | str = "cpu"):
    """Random vectors for the demo's words: one per distinct word, so a repeated word has the same
    vector in both sentences, and each RELATED word is its partner's vector plus a little noise."""
    vocabulary = sorted(set(PREMISE + HYPOTHESIS))
    vectors = dict(zip(vocabulary, torch.randn(len(vocabulary), size, device=device)))
    for word, partner in RELATED.items():
        vectors[word] = vectors[partner] + 0.3 * torch.randn(size, device=device)
    return (torch.stack([vectors[w] for w in PREMISE])[None], torch.stack([vectors[w] for w in HYPOTHESIS])[None])


def set_F_to_sign_split(model: DecomposableAttention) -> None:
    """Hand-set F(x) = [max(x, 0) ; max(-x, 0)] (needs hidden size = 2 · word size), so that
    e_ij = F(a_i)ᵀF(b_j) sums the products of same-sign coordinates: largest, ‖x‖², for identical
    words. A trained F would learn its own notion of which words should align."""
    D = model.F[0].in_features
    eye = torch.eye(D, device=model.F[0].weight.device)
    with torch.no_grad():
        model.F[0].weight.copy_(torch.cat([eye, -eye]))
        model.F[2].weight.copy_(torch.eye(2 * D, device=eye.device))
        model.F[0].bias.zero_(), model.F[2].bias.zero_()


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """A toy premise and hypothesis (identical words share a vector, near-synonyms nearly so), F set
    by hand to a similarity; print the soft alignment and check the model against the loop."""
    torch.manual_seed(seed)
    a, b = word_vectors(16, device)
    model = DecomposableAttention(16, 32).to(device)
    set_F_to_sign_split(model)
    ones_a = torch.ones(1, len(PREMISE), dtype=torch.bool, device=device)
    ones_b = torch.ones(1, len(HYPOTHESIS), dtype=torch.bool, device=device)
    with torch.no_grad():
        scores, to_b, _ = model(a, b)
        beta, alpha, _, _ = model.attend(a, b, ones_a, ones_b)
        ref_scores, ref_beta, ref_alpha = naive_decomposable_attention(model, a, b, ones_a, ones_b)
    error = max((x - y).abs().max().item() for x, y in [(scores, ref_scores), (beta, ref_beta), (alpha, ref_alpha)])
    print("soft alignment exp(e_ij) / Σ_k exp(e_ik): rows premise words a_i, columns hypothesis words b_j")
    print("            " + " ".join(f"{w:>7}" for w in HYPOTHESIS))
    for i, word in enumerate(PREMISE):
        print(f"  {word:>8}  " + " ".join(f"{p:7.2f}" for p in to_b[0, i].tolist()))
    partners = {**{w: w for w in HYPOTHESIS}, **{v: k for k, v in RELATED.items()}}
    matched = [(i, HYPOTHESIS.index(partners[w])) for i, w in enumerate(PREMISE) if w in partners]
    hits = [PREMISE[i] for i, j in matched if to_b[0, i].argmax().item() == j]
    print(f"premise words whose row peaks on their counterpart: {hits} of {[PREMISE[i] for i, _ in matched]}")
    print(f"class scores (G and H untrained): {[round(s, 3) for s in scores[0].tolist()]}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"alignment": to_b[0].cpu(), "scores": scores[0].cpu(), "matched": matched, "hits": hits,
            "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
