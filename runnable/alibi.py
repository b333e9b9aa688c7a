"""ALiBi: attention with linear biases instead of position embeddings (Press, Smith & Lewis 2021;
bib: press2022train).

A Transformer needs to know where its tokens are. ALiBi adds no position vector to the word
embeddings. Instead, each head h adds to its causal attention scores a penalty that grows linearly
with the distance between query i and key j:

    s_ij = q_i · k_j / √d + m_h · (j − i)          (j ≤ i; keys after the query are masked, −∞)
    o_i  = Σ_j softmax_j(s_ij) v_j

so the bias row of query i is m_h · [−i, …, −2, −1, 0]. The slopes m_h are fixed, not learned: for
n heads (n a power of two) the geometric sequence that starts at 2^(−8/n) with ratio 2^(−8/n),

    m_h = 2^(−8h/n),   h = 1 … n          (8 heads: 1/2, 1/4, …, 1/256)

so some heads look almost only at the last few tokens and others far back. For n not a power of
two, the authors' released code (get_slopes) takes the 2^⌊log₂ n⌋ slopes of the nearest lower
power of two, then the missing ones from the sequence for twice that many heads, every other one
(those that fall between the first ones). The bias depends only on j − i, so nothing in the model
refers to an absolute position: trained on short sequences, it can be run on longer ones (the
paper's "train short, test long").

Differences from the paper:
- The paper's models are large language models trained on WikiText-103 and a books corpus; the
  page trains a tiny one-layer model on a synthetic sequence task for a few seconds, enough to
  show the shape of the effect, not its size.
- The paper adds the bias in the fused attention kernel of fairseq; here it is one (H, L, L)
  tensor built per call.

Shapes: B batch, H heads, L_q queries, L_k keys, d features per head. q (B, H, L_q, d), k and v
(B, H, L_k, d) → output (B, H, L_q, d). The L_q queries are the last L_q positions of the L_k keys
(L_q = L_k in training; L_q = 1 when decoding one token against a cache).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from runnable._training import fit
from runnable.multi_head_attention import MultiHeadAttention
from runnable.transformer_block import TransformerBlock, sinusoidal_positions


def alibi_slopes(num_heads: int) -> list[float]:
    """The head-specific slopes m_1 … m_n: 2^(−8h/n) for n a power of two, else the authors' rule."""
    def power_of_two(n):                        # start 2^(−8/n), ratio 2^(−8/n)
        return [2 ** (-8 * h / n) for h in range(1, n + 1)]

    if math.log2(num_heads).is_integer():
        return power_of_two(num_heads)
    lower = 2 ** math.floor(math.log2(num_heads))
    # the slopes for 2·lower heads interleave with those for lower heads; take the odd-numbered ones
    return power_of_two(lower) + alibi_slopes(2 * lower)[0::2][:num_heads - lower]


def alibi_bias(slopes: Tensor, L_q: int, L_k: int) -> Tensor:
    """(H, L_q, L_k): m_h · (j − i) where key j ≤ query i, −∞ after it; query r is position L_k − L_q + r."""
    i = torch.arange(L_k - L_q, L_k, device=slopes.device)[:, None]
    j = torch.arange(L_k, device=slopes.device)[None, :]
    distance = (j - i).to(slopes.dtype)                                 # ≤ 0 in the past
    bias = slopes[:, None, None] * distance                            # (H, L_q, L_k)
    return bias.masked_fill(j > i, float("-inf"))


def alibi_attention(q: Tensor, k: Tensor, v: Tensor, slopes: Tensor) -> Tensor:
    """softmax(q kᵀ/√d + m · (j − i), causal) v, each head with its own slope."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])           # (B, H, L_q, L_k)
    bias = alibi_bias(slopes.to(q.dtype), q.shape[-2], k.shape[-2])
    return torch.softmax(scores + bias, dim=-1) @ v


def biased_self_attention(attention: MultiHeadAttention, h: Tensor, slopes: Tensor) -> Tensor:
    """A MultiHeadAttention layer's projections around alibi_attention: (B, L, d_model) → (B, L, d_model)."""
    q, k, v = (attention.split_heads(projection(h)) for projection in (attention.q_proj, attention.k_proj, attention.v_proj))
    return attention.out_proj(attention.merge_heads(alibi_attention(q, k, v, slopes)))


class TinyLanguageModel(nn.Module):
    """A small causal language model of pre-norm Transformer blocks. positions="alibi": no position
    embedding, the ALiBi slopes in every layer; positions="sinusoidal": the Transformer's sinusoids
    added to the embeddings and every slope 0 (plain causal attention), for comparison."""

    def __init__(self, vocab: int, d_model: int = 32, num_heads: int = 4, layers: int = 2, positions: str = "alibi"):
        super().__init__()
        assert positions in ("alibi", "sinusoidal")
        self.positions = positions
        self.embed = nn.Embedding(vocab, d_model)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, num_heads, 4 * d_model, norm_first=True) for _ in range(layers))
        self.norm, self.unembed = nn.LayerNorm(d_model), nn.Linear(d_model, vocab)
        slopes = alibi_slopes(num_heads) if positions == "alibi" else [0.0] * num_heads
        self.register_buffer("slopes", torch.tensor(slopes), persistent=False)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens (B, L) → next-token logits (B, L, vocab)."""
        x = self.embed(tokens)
        if self.positions == "sinusoidal":
            x = x + sinusoidal_positions(tokens.shape[1], x.shape[-1], x.device, x.dtype)
        for block in self.blocks:
            x = block.residuals(x, lambda h: biased_self_attention(block.self_attn, h, self.slopes))
        return self.unembed(self.norm(x))


def second_order_sequences(batch: int, length: int, rule: Tensor, noise: float, generator: torch.Generator) -> Tensor:
    """(batch, length) tokens with x_{t+1} = rule[x_{t−1}, x_t], replaced by a uniformly random
    token with probability `noise`: each token depends on the two before it, wherever it stands."""
    vocab = rule.shape[0]
    tokens = torch.empty(batch, length, dtype=torch.long)
    tokens[:, :2] = torch.randint(vocab, (batch, 2), generator=generator)
    for t in range(2, length):
        random = torch.rand(batch, generator=generator) < noise
        tokens[:, t] = torch.where(random, torch.randint(vocab, (batch,), generator=generator), rule[tokens[:, t - 2], tokens[:, t - 1]])
    return tokens


def next_token_loss(model: nn.Module, tokens: Tensor) -> Tensor:
    """Mean cross-entropy of predicting tokens[:, t+1] from tokens[:, :t+1], for t ≥ 1 (the first
    prediction, from one token, cannot know the rule's second argument)."""
    logits = model(tokens[:, :-1])[:, 1:]
    return nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 2:].flatten())


def train_short_test_long(train_length: int = 24, test_lengths=(24, 48, 96, 192), steps: int = 150,
                          vocab: int = 8, noise: float = 0.1, seed: int = 0) -> dict[str, list[float]]:
    """Train a one-layer ALiBi model and a sinusoidal one on sequences of `train_length` tokens,
    then measure each one's loss on longer sequences of the same kind. Returns positions → losses."""
    rule = torch.randint(vocab, (vocab, vocab), generator=torch.Generator().manual_seed(seed))
    losses = {}
    for positions in ("alibi", "sinusoidal"):
        torch.manual_seed(seed)
        data = torch.Generator().manual_seed(seed)
        model = TinyLanguageModel(vocab, layers=1, positions=positions)
        fit(model, lambda m: next_token_loss(m, second_order_sequences(16, train_length + 1, rule, noise, data)),
            steps, lambda step: 1e-2)
        test = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            losses[positions] = [next_token_loss(model, second_order_sequences(16, L + 1, rule, noise, test)).item()
                                 for L in test_lengths]
    return losses


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The slopes for 8 and 12 heads, the bias of one head, and alibi_attention against torch's
    scaled_dot_product_attention with the bias passed as a float attn_mask."""
    print("slopes, 8 heads: ", " ".join(f"1/{1 / m:.0f}" for m in alibi_slopes(8)))
    print("slopes, 12 heads:", " ".join(f"{m:.4f}" for m in alibi_slopes(12)))
    slopes = torch.tensor(alibi_slopes(8), device=device)
    print("bias of head 1 (m = 1/2), 5 positions:")
    print(alibi_bias(slopes, 5, 5)[0].cpu())
    torch.manual_seed(seed)
    q, k, v = torch.randn(3, 2, 8, 12, 16, device=device).unbind(0)
    ours = alibi_attention(q, k, v, slopes)
    torch_sdpa = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=alibi_bias(slopes, 12, 12))
    error = (ours - torch_sdpa).abs().max().item()
    print(f"max |alibi_attention − torch SDPA with the bias as attn_mask| = {error:.1e} (float32, tolerance 1e-5)")
    return {"slopes": alibi_slopes(8), "error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
