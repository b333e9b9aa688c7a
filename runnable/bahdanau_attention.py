"""Additive attention and the RNNsearch decoder (Bahdanau, Cho & Bengio; bib: bahdanau2015neural).

A bidirectional RNN reads the source x_1..x_T into annotations h_j = [→h_j ; ←h_j]; the backward
RNN reads only the real sentence, from x_T back to x_1, so padding changes nothing. The decoder
starts from s_0 = tanh(W_s ←h_1) (appendix A.2.2). At output step i it scores every annotation
against its previous state s_{i-1},

    e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j)          (the alignment model; its form is in the appendix)
    α_ij = exp(e_ij) / Σ_k exp(e_ik)                  (section 3.1)
    c_i  = Σ_j α_ij h_j                               (section 3.1)

predicts the next word from the same s_{i-1}, the previous word and the context (appendix A.2.2),

    t̃_i = U_o s_{i-1} + V_o E y_{i-1} + C_o c_i,   t_i = [max(t̃_{i,2k-1}, t̃_{i,2k})]_k  (maxout),
    p(y_i | y_<i, x) ∝ exp(y_i^T W_o t_i),

and only then updates its state, s_i = f(s_{i-1}, y_{i-1}, c_i), with f a GRU. Nothing forces the
weights α_i to be monotone or hard: the alignment is soft and learned with the translation.

Shapes: B batch, T source length, L target length, E embedding size, N decoder state size,
M annotation size (2 × encoder size), A alignment-model size, V target vocabulary.

Differences from the paper:
- The GRUs are torch's: the reset gate multiplies U h after the product, r ∘ (U h + b), where the
  paper's GRU resets before it, U (r ∘ h); and torch's update gate z weighs the old state where the
  paper's weighs the new one (the same family of functions, relabelled). All layers have biases,
  which the paper's equations leave out for brevity.
- Sizes are small (the paper: 1000 hidden units, 620-dimensional embeddings, 500 maxout units).
- Training is teacher-forced on toy data here; the paper's WMT'14 training, minibatch sorting and
  beam search are not part of the module.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


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


def source_lengths(source, source_mask=None):
    """Each sentence's length (B,) from a right-padded mask (True on the real tokens)."""
    if source_mask is None:
        return torch.full((source.shape[0],), source.shape[1], device=source.device)
    lengths = source_mask.sum(1)
    prefix = torch.arange(source.shape[1], device=source.device)[None, :] < lengths[:, None]
    if not torch.equal(source_mask, prefix):
        raise ValueError("source_mask must mark a prefix of each row (right padding) — move the padding to the end")
    return lengths


class RNNsearch(nn.Module):
    """Bidirectional GRU encoder + GRU decoder with additive attention and a maxout readout (teacher-forced)."""

    def __init__(self, source_vocab: int, target_vocab: int, embed: int = 32, hidden: int = 64, align: int = 64,
                 maxout: int | None = None):
        super().__init__()
        maxout = maxout or hidden
        self.source_embed = nn.Embedding(source_vocab, embed)
        self.target_embed = nn.Embedding(target_vocab, embed)                # E
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.init_state = nn.Linear(hidden, hidden)                          # W_s
        self.attention = AdditiveAttention(hidden, 2 * hidden, align)
        self.decoder = nn.GRUCell(embed + 2 * hidden, hidden)                # f
        self.readout = nn.Linear(hidden + embed + 2 * hidden, 2 * maxout)    # [U_o V_o C_o], on [s_{i-1}; E y_{i-1}; c_i]
        self.output = nn.Linear(maxout, target_vocab)                        # W_o

    def encode(self, source, source_mask=None):
        """Annotations (B, T, 2H), zero at padding, and s_0 (B, N). The sequences are packed, so the
        backward GRU starts at each sentence's own last token, not at the padding."""
        lengths = source_lengths(source, source_mask)
        packed = pack_padded_sequence(self.source_embed(source), lengths.cpu(), batch_first=True, enforce_sorted=False)
        annotations, _ = pad_packed_sequence(self.encoder(packed)[0], batch_first=True, total_length=source.shape[1])
        hidden = annotations.shape[-1] // 2
        return annotations, torch.tanh(self.init_state(annotations[:, 0, hidden:]))  # s_0 = tanh(W_s ←h_1)

    def forward(self, source, target_in, source_mask=None):
        """source (B, T), target_in (B, L) starting with BOS. Returns logits (B, L, V) and α (B, L, T)."""
        annotations, state = self.encode(source, source_mask)
        logits, alignments = [], []
        for y_prev in self.target_embed(target_in).unbind(1):             # E y_{i-1}, (B, E) per step
            context, weights = self.attention(state, annotations, source_mask)   # scored with s_{i-1}
            readout = self.readout(torch.cat([state, y_prev, context], -1))    # t̃_i, (B, 2·maxout)
            logits.append(self.output(readout.unflatten(-1, (-1, 2)).amax(-1)))  # W_o t_i, t_i = maxout(t̃_i)
            state = self.decoder(torch.cat([y_prev, context], -1), state)      # s_i = f(s_{i-1}, y_{i-1}, c_i)
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
                scores.append(torch.tensor(float("-inf"), device=annotations.device, dtype=annotations.dtype))
                continue
            hidden = torch.tanh(attention.W.weight @ state[b] + attention.U.weight @ annotations[b, j])
            scores.append(attention.v.weight[0] @ hidden)
        scores = torch.stack(scores)
        alpha = torch.exp(scores - scores.max()) / torch.exp(scores - scores.max()).sum()
        weights.append(alpha)
        contexts.append(sum(alpha[j] * annotations[b, j] for j in range(T)))
    return torch.stack(contexts), torch.stack(weights)


def _gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """One GRU step written out (torch's gate order r, z, n and reset placement; see the docstring)."""
    W_r, W_z, W_n = weight_ih.chunk(3)
    U_r, U_z, U_n = weight_hh.chunk(3)
    b_r, b_z, b_n = bias_ih.chunk(3)
    c_r, c_z, c_n = bias_hh.chunk(3)
    r = torch.sigmoid(W_r @ x + b_r + U_r @ h + c_r)                     # reset gate
    z = torch.sigmoid(W_z @ x + b_z + U_z @ h + c_z)                     # update gate (weight of the old state)
    proposal = torch.tanh(W_n @ x + b_n + r * (U_n @ h + c_n))
    return (1 - z) * proposal + z * h


def step_by_step(model: RNNsearch, source, target_in, lengths=None):
    """The reference: appendix A's equations one sentence and one step at a time, on each sentence's
    real tokens only (no padding, no packing), from the model's weights. Returns logits (B, L, V)
    and α (B, L, T), zero beyond each sentence's length."""
    B, T = source.shape
    lengths = [T] * B if lengths is None else [int(n) for n in lengths]
    gru, H = model.encoder, model.encoder.hidden_size
    forward_weights = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
    backward_weights = (gru.weight_ih_l0_reverse, gru.weight_hh_l0_reverse, gru.bias_ih_l0_reverse, gru.bias_hh_l0_reverse)
    cell = model.decoder
    decoder_weights = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    E_y, E_x = model.target_embed.weight, model.source_embed.weight
    W_a, U_a, v_a = model.attention.W.weight, model.attention.U.weight, model.attention.v.weight[0]
    U_o, V_o, C_o = model.readout.weight.split([H, E_y.shape[1], 2 * H], dim=1)
    all_logits, all_alphas = [], []
    for b in range(B):
        words = [E_x[x] for x in source[b, :lengths[b]]]
        forward, backward, h = [], [], torch.zeros(H, dtype=E_x.dtype, device=E_x.device)
        for x in words:                                                  # →h_j = f(→h_{j-1}, x_j)
            h = _gru_step(x, h, *forward_weights)
            forward.append(h)
        h = torch.zeros_like(h)
        for x in reversed(words):                                        # ←h_j = f(←h_{j+1}, x_j), from x_T
            h = _gru_step(x, h, *backward_weights)
            backward.insert(0, h)
        annotations = [torch.cat([f, k]) for f, k in zip(forward, backward)]   # h_j = [→h_j; ←h_j]
        s = torch.tanh(model.init_state.weight @ backward[0] + model.init_state.bias)   # s_0 = tanh(W_s ←h_1)
        logits, alphas = [], []
        for y in target_in[b]:
            e = torch.stack([v_a @ torch.tanh(W_a @ s + U_a @ h_j) for h_j in annotations])  # e_ij, with s_{i-1}
            alpha = torch.exp(e - e.max()) / torch.exp(e - e.max()).sum()
            c = sum(a * h_j for a, h_j in zip(alpha, annotations))               # c_i = Σ_j α_ij h_j
            t_tilde = U_o @ s + V_o @ E_y[y] + C_o @ c + model.readout.bias      # t̃_i, with s_{i-1}
            t = torch.stack([torch.maximum(t_tilde[2 * k], t_tilde[2 * k + 1]) for k in range(len(t_tilde) // 2)])
            logits.append(model.output.weight @ t + model.output.bias)           # W_o t_i
            alphas.append(torch.cat([alpha, alpha.new_zeros(T - lengths[b])]))
            s = _gru_step(torch.cat([E_y[y], c]), s, *decoder_weights)           # s_i = f(s_{i-1}, y_{i-1}, c_i)
        all_logits.append(torch.stack(logits))
        all_alphas.append(torch.stack(alphas))
    return torch.stack(all_logits), torch.stack(all_alphas)


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
