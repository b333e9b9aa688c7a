"""Additive attention and the RNNsearch decoder step (Bahdanau, Cho & Bengio; bib: bahdanau2015neural).

A bidirectional RNN reads the source x_1..x_T into annotations h_j = [→h_j ; ←h_j]. At output
step i the decoder scores every annotation against its previous state s_{i-1},

    e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)          (the alignment model; its form is in the appendix)
    α_ij = exp(e_ij) / Σ_k exp(e_ik)                  (section 3.1)
    c_i  = Σ_j α_ij h_j                               (section 3.1)

and the context c_i feeds the next state s_i = f(s_{i-1}, y_{i-1}, c_i). Nothing forces the
weights α_i to be monotone or hard: the alignment is soft and learned with the translation.

Differences from the paper:
- The output layer is a single linear map of [s_i; c_i; y_{i-1}] to the vocabulary; the paper uses a
  deep output with a maxout hidden layer (appendix A.2.2).
- torch's GRU cells stand in for the paper's gated hidden units, and the sizes are small (the
  paper: 620-dimensional embeddings, 1000 hidden units).
- Training is teacher-forced on toy data here; the paper's WMT'14 training, minibatch sorting and
  beam search are not part of the module.

Shapes: B batch, T source length, N decoder state size, M annotation size (2 × encoder size),
A alignment-model size.
"""
from __future__ import annotations

import torch
from torch import nn


class AdditiveAttention(nn.Module):
    """The alignment model: a one-hidden-layer network that scores each annotation h_j against the
    decoder's previous state, then a softmax over the source positions."""

    def __init__(self, state_size: int, annotation_size: int, align_size: int):
        super().__init__()
        self.W = nn.Linear(state_size, align_size, bias=False)       # W_a
        self.U = nn.Linear(annotation_size, align_size, bias=False)  # U_a
        self.v = nn.Linear(align_size, 1, bias=False)                # v_a

    def forward(self, state, annotations, mask=None):
        """state (B, N), annotations (B, T, M), mask (B, T) True where a real token is.
        Returns the context (B, M) and the weights α (B, T)."""
        # e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)                       (B, T)
        scores = self.v(torch.tanh(self.W(state)[:, None, :] + self.U(annotations))).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)                          # α_ij
        context = torch.einsum("bt,btm->bm", weights, annotations)       # c_i = Σ_j α_ij h_j
        return context, weights


class RNNsearch(nn.Module):
    """Bidirectional GRU encoder + GRU decoder with additive attention (teacher-forced)."""

    def __init__(self, source_vocab: int, target_vocab: int, embed: int = 32, hidden: int = 64, align: int = 64):
        super().__init__()
        self.source_embed = nn.Embedding(source_vocab, embed)
        self.target_embed = nn.Embedding(target_vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.init_state = nn.Linear(hidden, hidden)  # s_0 = tanh(W_s ←h_1), from the backward encoder
        self.attention = AdditiveAttention(hidden, 2 * hidden, align)
        self.decoder = nn.GRUCell(embed + 2 * hidden, hidden)
        self.output = nn.Linear(hidden + 2 * hidden + embed, target_vocab)

    def forward(self, source, target_in, source_mask=None):
        """source (B, T), target_in (B, L) starting with BOS. Returns logits (B, L, V) and α (B, L, T)."""
        annotations, _ = self.encoder(self.source_embed(source))         # (B, T, 2H)
        hidden = annotations.shape[-1] // 2
        state = torch.tanh(self.init_state(annotations[:, 0, hidden:]))  # backward RNN's first state
        logits, alignments = [], []
        for y_prev in self.target_embed(target_in).unbind(1):            # (B, E) per step
            context, weights = self.attention(state, annotations, source_mask)
            state = self.decoder(torch.cat([y_prev, context], -1), state)
            logits.append(self.output(torch.cat([state, context, y_prev], -1)))
            alignments.append(weights)
        return torch.stack(logits, 1), torch.stack(alignments, 1)


def naive_additive_attention(attention: AdditiveAttention, state, annotations, mask=None):
    """The same equations one (b, j) at a time: the slow reference the tests compare against."""
    B, T, _ = annotations.shape
    contexts, weights = [], []
    for b in range(B):
        scores = []
        for j in range(T):
            if mask is not None and not mask[b, j]:
                scores.append(torch.tensor(float("-inf"), device=annotations.device))
                continue
            hidden = torch.tanh(attention.W.weight @ state[b] + attention.U.weight @ annotations[b, j])
            scores.append(attention.v.weight[0] @ hidden)
        scores = torch.stack(scores)
        alpha = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
        weights.append(alpha)
        contexts.append(sum(alpha[j] * annotations[b, j] for j in range(T)))
    return torch.stack(contexts), torch.stack(weights)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Attend from one decoder state over five annotations, one of them padding; check the
    batched form against the loop. Returns the weights for plotting."""
    torch.manual_seed(seed)
    attention = AdditiveAttention(state_size=8, annotation_size=6, align_size=10).to(device)
    state = torch.randn(2, 8, device=device)
    annotations = torch.randn(2, 5, 6, device=device)
    mask = torch.tensor([[True] * 5, [True] * 4 + [False]], device=device)
    context, weights = attention(state, annotations, mask)
    ref_context, ref_weights = naive_additive_attention(attention, state, annotations, mask)
    error = max((context - ref_context).abs().max().item(), (weights - ref_weights).abs().max().item())
    print("α (rows: batch, columns: source positions; the last one of row 2 is padding):")
    for row in weights.cpu():
        print("  " + "  ".join(f"{w:.3f}" for w in row.tolist()))
    print(f"rows sum to one: {weights.sum(-1).cpu().tolist()}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"weights": weights.detach().cpu(), "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
