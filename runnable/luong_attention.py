"""Global and local-p attention (Luong, Pham & Manning; bib: luong2015effective).

At target step t the decoder's top-layer state h_t is compared with every source state h̄_s
(section 3.1), with one of three scores,

    score(h_t, h̄_s) = h_t^T h̄_s                      (dot)
                     = h_t^T W_a h̄_s                  (general)
                     = v_a^T tanh(W_a [h_t ; h̄_s])    (concat)
    a_t(s) = exp(score(h_t, h̄_s)) / Σ_s' exp(score(h_t, h̄_s'))
    c_t    = Σ_s a_t(s) h̄_s

and the context and state combine into the attentional hidden state (section 3)

    h̃_t = tanh(W_c [c_t ; h_t])

that feeds the softmax over target words. Local-p attention (section 3.2) first predicts a
source position and attends only to a window [p_t - D, p_t + D] around it, favouring the centre:

    p_t    = S · sigmoid(v_p^T tanh(W_p h_t))          (S: source length, so p_t ∈ (0, S))
    a_t(s) = align(h_t, h̄_s) · exp(-(s - p_t)^2 / (2σ^2)),   σ = D / 2

where align is the softmax above taken over the window. The Gaussian is applied after the
softmax, so the local weights sum to less than one. Positions here are counted s = 1..S, so
that p_t ∈ (0, S) lands among them. The paper's input feeding is not part of this module.

Differences from the paper:
- Input feeding (the attentional vector fed into the next step) is left out: the module scores and
  reads, given the decoder states.
- Positions are counted s = 1..S so that the predicted position p_t ∈ (0, S) lands among them.

Shapes: B batch, S source length, d state size (h_t and h̄_s alike), A concat-score size.
"""
from __future__ import annotations

import torch
from torch import nn


class LuongAttention(nn.Module):
    """Luong et al.'s attention: global (every source position) or, with a window D, local-p around
    a predicted position; the score is dot, general or concat."""

    def __init__(self, size: int, score: str = "general", window: int | None = None, align_size: int = 0):
        super().__init__()
        assert score in ("dot", "general", "concat"), score
        self.kind, self.D = score, window
        if score == "general":
            self.W_a = nn.Linear(size, size, bias=False)
        if score == "concat":
            self.W_a = nn.Linear(2 * size, align_size or size, bias=False)
            self.v_a = nn.Linear(align_size or size, 1, bias=False)
        if window is not None:  # local-p: the position predictor
            self.W_p = nn.Linear(size, size, bias=False)
            self.v_p = nn.Linear(size, 1, bias=False)
        self.W_c = nn.Linear(2 * size, size, bias=False)

    def score(self, h, source):
        """h (B, d), source (B, S, d) → score(h_t, h̄_s) (B, S)."""
        if self.kind == "dot":        # h_t^T h̄_s
            return torch.einsum("bd,bsd->bs", h, source)
        if self.kind == "general":    # h_t^T W_a h̄_s
            return torch.einsum("bd,bsd->bs", h, self.W_a(source))
        pairs = torch.cat([h[:, None, :].expand_as(source), source], -1)  # [h_t ; h̄_s]
        return self.v_a(torch.tanh(self.W_a(pairs))).squeeze(-1)          # v_a^T tanh(W_a [h_t ; h̄_s])

    def forward(self, h, source, mask=None):
        """h (B, d), source (B, S, d), mask (B, S) True where a real token is (padding at the end,
        so local-p's S is the mask's count). Returns h̃_t (B, d), c_t (B, d), a_t (B, S) and,
        for local-p, p_t (B,) (None for global attention)."""
        B, S, _ = source.shape
        if mask is None:
            mask = torch.ones(B, S, dtype=torch.bool, device=source.device)
        scores, position = self.score(h, source), None
        if self.D is not None:
            length = mask.sum(-1).to(source.dtype)                         # S, per example
            # p_t = S · sigmoid(v_p^T tanh(W_p h_t))
            position = length * torch.sigmoid(self.v_p(torch.tanh(self.W_p(h)))).squeeze(-1)
            s = torch.arange(1, S + 1, device=source.device, dtype=source.dtype)
            distance = s[None, :] - position[:, None]                      # s - p_t  (B, S)
            mask = mask & (distance.abs() <= self.D)                       # the window [p_t - D, p_t + D]
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)  # a_t(s)
        if self.D is not None:
            # a_t(s) = align(h_t, h̄_s) · exp(-(s - p_t)^2 / (2σ^2)),  σ = D/2
            weights = weights * torch.exp(-distance ** 2 / (2 * (self.D / 2) ** 2))
        context = torch.einsum("bs,bsd->bd", weights, source)              # c_t = Σ_s a_t(s) h̄_s
        h_tilde = torch.tanh(self.W_c(torch.cat([context, h], -1)))        # h̃_t = tanh(W_c [c_t ; h_t])
        return h_tilde, context, weights, position


def naive_luong_attention(attention: LuongAttention, h, source, mask=None):
    """The same equations one (b, s) at a time: the slow reference the tests compare against."""
    B, S, _ = source.shape
    out = []
    for b in range(B):
        keep, p = [s for s in range(S) if mask is None or mask[b, s]], None
        if attention.D is not None:
            u = attention.v_p.weight[0] @ torch.tanh(attention.W_p.weight @ h[b])
            p = len(keep) / (1 + torch.exp(-u))                           # S · sigmoid(u)
            keep = [s for s in keep if abs((s + 1) - p) <= attention.D]  # position s + 1, counted from 1
        scores = {}
        for s in keep:
            if attention.kind == "dot":
                scores[s] = h[b] @ source[b, s]
            elif attention.kind == "general":
                scores[s] = h[b] @ (attention.W_a.weight @ source[b, s])
            else:
                pair = torch.cat([h[b], source[b, s]])
                scores[s] = attention.v_a.weight[0] @ torch.tanh(attention.W_a.weight @ pair)
        top = max(scores.values())
        total = sum(torch.exp(x - top) for x in scores.values())
        weights = [torch.zeros((), device=source.device)] * S
        for s in keep:
            weights[s] = torch.exp(scores[s] - top) / total
            if p is not None:
                weights[s] = weights[s] * torch.exp(-((s + 1) - p) ** 2 / (2 * (attention.D / 2) ** 2))
        context = sum(weights[s] * source[b, s] for s in range(S))
        out.append((torch.tanh(attention.W_c.weight @ torch.cat([context, h[b]])), context, torch.stack(weights), p))
    h_tilde, context, weights, p = zip(*out)
    return torch.stack(h_tilde), torch.stack(context), torch.stack(weights), None if p[0] is None else torch.stack(p)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """One decoder state over twelve source states, with each score and with local-p (D = 2);
    check each against the loop. Returns the weights for plotting."""
    torch.manual_seed(seed)
    h, source = torch.randn(1, 8, device=device), torch.randn(1, 12, 8, device=device)
    variants = {"dot": LuongAttention(8, "dot"), "general": LuongAttention(8, "general"),
                "concat": LuongAttention(8, "concat", align_size=10), "local-p": LuongAttention(8, "general", window=2)}
    rows, error = {}, 0.0
    print("a_t(s) (rows: variant, columns: source positions s = 1..12):")
    for name, attention in variants.items():
        with torch.no_grad():
            out = attention.to(device)(h, source)
            ref = naive_luong_attention(attention, h, source)
        error = max([error] + [(a - r).abs().max().item() for a, r in zip(out, ref) if a is not None])
        rows[name] = out[2][0].cpu()
        print(f"  {name:>8} " + " ".join(f"{w:.2f}" for w in rows[name].tolist()) + f"   sum {rows[name].sum():.3f}")
    p = out[3].item()
    print(f"local-p: p_t = {p:.2f}, window [{p - 2:.2f}, {p + 2:.2f}], σ = 1; outside it the weights are 0")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"weights": torch.stack(list(rows.values())), "names": list(rows), "position": p, "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
