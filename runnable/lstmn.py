"""Long short-term memory-network, LSTMN (Cheng, Dong & Lapata; bib: cheng2016long).

An LSTM keeps one hidden state and one memory cell. The LSTMN keeps a tape of all of them, h_1..h_{t-1}
and c_1..c_{t-1}, and at step t reads the tape with attention over the earlier tokens of the same
sequence (intra-attention), conditioned on the input x_t and the previous summary h̃_{t-1}:

    a^t_i = vᵀ tanh(W_h h_i + W_x x_t + W_h̃ h̃_{t-1})           i = 1 … t-1
    s^t   = softmax(a^t)                                          over i < t only (strictly causal)
    h̃_t   = Σ_i s^t_i h_i,     c̃_t = Σ_i s^t_i c_i              adaptive summaries of the tape
    [i_t; f_t; o_t] = σ(W [h̃_t; x_t] + b),   ĉ_t = tanh(W_c [h̃_t; x_t] + b_c)
    c_t = f_t ⊙ c̃_t + i_t ⊙ ĉ_t,   h_t = o_t ⊙ tanh(c_t)

so h̃_t and c̃_t take the places of h_{t-1} and c_{t-1} in an ordinary LSTM step.

The first step has an empty tape. The equations above leave it open; here h̃_1 = c̃_1 = 0 (and
h̃_0 = 0), which makes step 1 an LSTM step from a zero state, and row 1 of the attention matrix is
all zeros. (Whether the authors' code instead puts a zero initial state on the tape, which would
give the same h_1, c_1 but a one-hot first row, is not something this module claims.) Step 2 then
has a one-entry tape, s^2 = [1], so the first two steps are exactly those of a standard LSTM.

The recurrence is sequential by nature, so `forward` loops over time but handles the batch and the
whole tape at once; the projections W_h h_i are computed once per token and kept. `naive_lstmn`
writes every sum out.

Differences from the paper:
- The first step starts from a zero state with an empty tape, so row 1 of the attention matrix is
  all zeros; whether the authors' code does the same is not claimed.
- Only the LSTMN reader is implemented; the paper's shallow- and deep-fusion encoder–decoders and
  its tasks are not.

Shapes: B batch, L length, d input size, n hidden size, A attention size.
"""
from __future__ import annotations

import torch
from torch import nn


class LSTMN(nn.Module):
    """The long short-term memory-network: an LSTM whose recurrence reads an attention-weighted
    summary of all earlier hidden and memory states (the tape) instead of only the last ones."""

    def __init__(self, input_size: int, hidden_size: int, attention_size: int | None = None):
        super().__init__()
        A, self.n = attention_size or hidden_size, hidden_size
        self.W_h = nn.Linear(hidden_size, A, bias=False)
        self.W_x = nn.Linear(input_size, A, bias=False)
        self.W_h_tilde = nn.Linear(hidden_size, A, bias=False)
        self.v = nn.Linear(A, 1, bias=False)
        self.gates = nn.Linear(hidden_size + input_size, 4 * hidden_size)   # rows: i, f, o, ĉ

    def step(self, x_t, h_tilde, c_tilde):
        """One LSTM step with the summaries in place of (h_{t-1}, c_{t-1}). Returns h_t, c_t."""
        i, f, o, candidate = self.gates(torch.cat([h_tilde, x_t], -1)).chunk(4, -1)
        c = torch.sigmoid(f) * c_tilde + torch.sigmoid(i) * torch.tanh(candidate)
        return torch.sigmoid(o) * torch.tanh(c), c

    def forward(self, x):
        """x (B, L, d) → hidden states (B, L, n) and the attention matrix (B, L, L). Counting tensor
        positions from 0, row t holds step t's weights over positions 0..t-1: strictly lower-triangular,
        the first row zero (empty tape), every other row summing to 1."""
        B, L, _ = x.shape
        zero = x.new_zeros(B, self.n)
        query_x = self.W_x(x)                                     # W_x x_t for every t at once
        hs, cs, keys, rows = [], [], [], []
        h_tilde = c_tilde = zero
        for t in range(L):
            if t == 0:                                            # empty tape: h̃ = c̃ = 0
                s = x.new_zeros(B, 0)
            else:
                tape_h, tape_c = torch.stack(hs, 1), torch.stack(cs, 1)   # (B, t, n)
                # a^t_i = vᵀ tanh(W_h h_i + W_x x_t + W_h̃ h̃_{t-1}); W_h h_i is cached as keys[i]
                query = query_x[:, t] + self.W_h_tilde(h_tilde)
                scores = self.v(torch.tanh(torch.stack(keys, 1) + query[:, None])).squeeze(-1)
                s = torch.softmax(scores, dim=-1)                 # s^t  (B, t)
                h_tilde = torch.einsum("bi,bin->bn", s, tape_h)   # h̃_t = Σ_i s^t_i h_i
                c_tilde = torch.einsum("bi,bin->bn", s, tape_c)   # c̃_t = Σ_i s^t_i c_i
            h, c = self.step(x[:, t], h_tilde, c_tilde)
            hs.append(h), cs.append(c), keys.append(self.W_h(h))
            rows.append(torch.cat([s, x.new_zeros(B, L - t)], -1))
        return torch.stack(hs, 1), torch.stack(rows, 1)


def naive_lstmn(model: LSTMN, x):
    """The same equations one example, step and tape slot at a time, with the weights used as
    matrices: the slow reference the tests compare against."""
    B, L, _ = x.shape
    n, W = model.n, model.gates.weight
    all_h = torch.zeros(B, L, n, dtype=x.dtype, device=x.device)
    all_s = torch.zeros(B, L, L, dtype=x.dtype, device=x.device)
    for b in range(B):
        hs, cs = [], []
        h_tilde = c_tilde = torch.zeros(n, dtype=x.dtype, device=x.device)
        for t in range(L):
            if t > 0:
                a = [model.v.weight[0] @ torch.tanh(model.W_h.weight @ hs[i] + model.W_x.weight @ x[b, t]
                                                    + model.W_h_tilde.weight @ h_tilde) for i in range(t)]
                top = max(a)
                s = [torch.exp(a_i - top) for a_i in a]
                s = [s_i / sum(s) for s_i in s]
                h_tilde = sum(s[i] * hs[i] for i in range(t))
                c_tilde = sum(s[i] * cs[i] for i in range(t))
                all_s[b, t, :t] = torch.stack(s)
            z = W @ torch.cat([h_tilde, x[b, t]]) + model.gates.bias
            i_t, f_t, o_t, c_hat = torch.sigmoid(z[:n]), torch.sigmoid(z[n:2 * n]), torch.sigmoid(z[2 * n:3 * n]), \
                torch.tanh(z[3 * n:])
            cs.append(f_t * c_tilde + i_t * c_hat)
            hs.append(o_t * torch.tanh(cs[-1]))
            all_h[b, t] = hs[-1]
    return all_h, all_s


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """An untrained LSTMN reads a random sequence of ten inputs; print its intra-attention rows and
    check them against the loop. v is scaled up so that the untrained weights are not all flat."""
    torch.manual_seed(seed)
    model = LSTMN(6, 8, attention_size=12).to(device)
    with torch.no_grad():
        model.v.weight.mul_(8.0)                                  # sharper scores, only for the picture
        x = torch.randn(1, 10, 6, device=device)
        hidden, attention = model(x)
        ref_hidden, ref_attention = naive_lstmn(model, x)
    error = max((hidden - ref_hidden).abs().max().item(), (attention - ref_attention).abs().max().item())
    rows = attention[0].cpu()
    print("intra-attention, positions counted from 0 (row t: step t reading the tape of steps 0..t-1):")
    for t, row in enumerate(rows.tolist()):
        print(f"  t = {t}: " + " ".join(f"{w:.2f}" for w in row[:t]) + ("(empty tape)" if t == 0 else ""))
    upper = torch.triu(rows).abs().max().item()
    print(f"on or above the diagonal: max {upper:.1e} (exactly 0: strictly causal)")
    print(f"row sums for t ≥ 1: min {rows[1:].sum(-1).min():.6f}, max {rows[1:].sum(-1).max():.6f}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"attention": rows, "hidden": hidden[0].cpu(), "max_error": error, "upper": upper}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
