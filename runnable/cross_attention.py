"""Cross-attention and the Transformer decoder layer (Vaswani et al.; bib: vaswani2017attention).

The decoder attends twice. Its masked self-attention lets position t see target positions
≤ t only; its encoder–decoder attention ("cross-attention") takes the queries from the
decoder and the keys and values from the encoder's output, the memory (section 3.2.3):

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + mask) V
    head_h = Attention(Q W_h^Q, K W_h^K, V W_h^V),   MultiHead = Concat(head_1..head_H) W^O
    self-attention:   Q = K = V = decoder states y          mask: -∞ where s > t (the future)
    cross-attention:  Q = y,  K = V = encoder output m      mask: -∞ at padded source positions

Each sub-layer is wrapped as LayerNorm(x + Sublayer(x)) (section 3.1), and the third one is
the position-wise feed-forward network FFN(x) = max(0, x W_1 + b_1) W_2 + b_2:

    y ← LayerNorm(y + SelfAttention(y))
    y ← LayerNorm(y + CrossAttention(y, m))
    y ← LayerNorm(y + FFN(y))

Nothing ties the target length L_q to the source length L_k: the cross-attention weights are an
L_q × L_k alignment between the two sentences, as in additive attention. A padded source
position gets a score of -∞ and so a weight of exactly zero, whatever its content. The paper's
dropout is left out (dropout 0), and the projections have biases, as in torch.nn.MultiheadAttention.

Masks follow torch's key_padding_mask convention: True marks a padded position. The heads are
the project's own multi-head attention (runnable/multi_head_attention.py), whose masks say the
opposite (True = may attend); the two functions below translate.
Masks follow torch's convention: `True` marks a padded position. `load_torch` copies the weights of
`torch.nn.TransformerDecoderLayer` (and `load_from_torch` those of `torch.nn.MultiheadAttention`),
which is how the tests and the demo compare against torch.

Differences from the paper:
- Dropout is left out (rate 0) and the projections have biases, as in torch.nn.MultiheadAttention;
  the paper does not say whether its projections have biases.
- No embeddings, positional encodings or stack of N = 6 layers: the module is one decoder layer.

Shapes: B batch, L_q target length, L_k source length, d model size, H heads, d_k = d / H.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from runnable.multi_head_attention import MultiHeadAttention, load_from_torch


def _may_attend(padding_mask):
    """torch's key_padding_mask (B, L_k), True at padding → our mask (B, 1, 1, L_k), True where allowed."""
    return None if padding_mask is None else ~padding_mask[:, None, None, :]


def cross_attention(queries, memory, attention: MultiHeadAttention, memory_padding_mask=None):
    """Queries from the decoder (B, L_q, d), keys and values from the encoder output (B, L_k, d).
    Returns the output (B, L_q, d) and every head's weights (B, H, L_q, L_k)."""
    return attention(queries, memory, memory, mask=_may_attend(memory_padding_mask))


def causal_self_attention(target, attention: MultiHeadAttention, target_padding_mask=None):
    """Each target position attends to itself and earlier non-padded positions."""
    return attention(target, target, target, mask=_may_attend(target_padding_mask), causal=True)


class DecoderLayer(nn.Module):
    """One Transformer decoder layer: masked self-attention over the target, cross-attention into
    the encoder's memory, then the feed-forward network, each in a post-norm residual."""

    def __init__(self, d_model: int, heads: int, d_ff: int):
        super().__init__()
        self.self_attention = MultiHeadAttention(d_model, heads)
        self.cross_attention = MultiHeadAttention(d_model, heads)
        self.ff1, self.ff2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))

    def forward(self, target, memory, target_padding_mask=None, memory_padding_mask=None):
        """target (B, L_q, d), memory (B, L_k, d). Returns (B, L_q, d) and both attentions' weights."""
        attended, self_weights = causal_self_attention(target, self.self_attention, target_padding_mask)
        y = self.norm1(target + attended)
        attended, cross_weights = cross_attention(y, memory, self.cross_attention, memory_padding_mask)
        y = self.norm2(y + attended)
        y = self.norm3(y + self.ff2(torch.relu(self.ff1(y))))                    # FFN = max(0, xW_1 + b_1)W_2 + b_2
        return y, (self_weights, cross_weights)

    def load_torch(self, layer: nn.TransformerDecoderLayer):
        """Copy the weights of a torch.nn.TransformerDecoderLayer (post-norm, ReLU) into this layer."""
        load_from_torch(self.self_attention, layer.self_attn)
        load_from_torch(self.cross_attention, layer.multihead_attn)
        for mine, theirs in [(self.ff1, layer.linear1), (self.ff2, layer.linear2), (self.norm1, layer.norm1),
                             (self.norm2, layer.norm2), (self.norm3, layer.norm3)]:
            mine.load_state_dict(theirs.state_dict())
        return self


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """A five-word target attends over a source of six words padded to eight, with projections set
    by hand so that a query finds the source word equal to it; then compare with torch."""
    torch.manual_seed(seed)
    d, H = 16, 2
    words = torch.nn.functional.normalize(torch.randn(8, d, device=device), dim=-1) * math.sqrt(d)
    source = [0, 1, 2, 3, 4, 5]                 # the encoder output is taken as the words themselves
    target = [3, 1, 0, 5, 2]                    # the same words in another order
    memory = torch.stack([words[source + [3, 3]]])          # pad with copies of word 3: a perfect match, masked
    padding = torch.tensor([[False] * 6 + [True] * 2], device=device)
    attention = MultiHeadAttention(d, H).to(device)
    with torch.no_grad():
        for layer in (attention.q_proj, attention.k_proj, attention.v_proj, attention.out_proj):
            layer.weight.copy_(torch.eye(d)), layer.bias.zero_()
        attention.q_proj.weight.mul_(1.5)                       # sharpen: score = 1.5 ⟨q_h, k_h⟩ / √d_k
        out, weights = cross_attention(words[target][None], memory, attention, padding)
    mean = weights.mean(1)[0]                                # averaged over heads, as torch reports it
    found = [source[i] for i in mean.argmax(-1).tolist()]
    print(f"target words {target} attend most to source words {found}")
    print(f"weight on the two padded source positions (each a copy of word 3): {mean[:, 6:].abs().max():.1e}")
    torch_attention = nn.MultiheadAttention(d, H, batch_first=True).to(device)
    x, m = torch.randn(2, 5, d, device=device), torch.randn(2, 8, d, device=device)
    pad = torch.zeros(2, 8, dtype=torch.bool, device=device)
    pad[0, 6:], pad[1, 3:] = True, True
    mine = MultiHeadAttention(d, H).to(device)
    load_from_torch(mine, torch_attention)
    with torch.no_grad():
        ours, ours_w = cross_attention(x, m, mine, pad)
        theirs, theirs_w = torch_attention(x, m, m, key_padding_mask=pad)
        attention_gap = max((ours - theirs).abs().max().item(), (ours_w.mean(1) - theirs_w).abs().max().item())
        torch_layer = nn.TransformerDecoderLayer(d, H, dim_feedforward=32, dropout=0.0, batch_first=True).to(device)
        layer = DecoderLayer(d, H, 32).to(device).load_torch(torch_layer)
        tgt_pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2], device=device)
        ours_layer = layer(x, m, tgt_pad, pad)[0]
        causal = torch.ones(5, 5, dtype=torch.bool, device=device).triu(1)    # torch's convention: True = blocked
        theirs_layer = torch_layer(x, m, tgt_mask=causal, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=pad)
        layer_gap = (ours_layer - theirs_layer).abs().max().item()
    print(f"max |ours - nn.MultiheadAttention| (output and weights) = {attention_gap:.1e} (tolerance 1e-5)")
    print(f"max |DecoderLayer - nn.TransformerDecoderLayer| = {layer_gap:.1e} (tolerance 1e-5)")
    return {"weights": mean.cpu(), "target": target, "source": source, "found": found,
            "padded_weight": mean[:, 6:].abs().max().item(), "attention_gap": attention_gap, "layer_gap": layer_gap}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
