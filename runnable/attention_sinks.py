"""Attention sinks and StreamingLLM's cache (Xiao et al. 2023): keep the first few tokens and a
window of recent ones.

To generate from an endless stream with a fixed memory, a model must drop old keys and values. The
obvious policy, a window of the last W tokens (see sliding_window_attention), fails badly in
trained language models as soon as the first tokens leave the window. Xiao et al. traced this to
"attention sinks": many heads put a large share of their attention on the first few tokens,
whatever those tokens are. A softmax must give weights that sum to one; a head with nothing useful
to read parks its weight on tokens every query can see, and in causal training only the first
tokens are visible to every query. Evict them and that weight is spread over the remaining tokens
instead, changing every layer's output.

StreamingLLM keeps the first n_sink tokens (four in the paper) and the last W − n_sink:

    cache(t) = {0, …, n_sink − 1} ∪ {t − (W − n_sink) + 1, …, t}

and gives positions within the cache, not within the stream: the sinks are positions 0 … n_sink − 1
and the recent tokens follow them without a gap. For ALiBi (this module's model, from alibi.py) that
means the bias counts the distance in the cache, m_h · (cache position of j − cache position of i).
The paper also pre-trains models with one dedicated sink token at the start of every sample; the
model here has a BOS token in that place.

Three ways to read a stream with a budget of W cached tokens, as in the paper's comparison:
- window only: the cache holds the last W tokens (n_sink = 0); the first tokens are evicted.
- sinks + window: StreamingLLM's cache.
- recompute: for every new token, re-read the last tokens from scratch as a fresh sample (here BOS
  and the last W − 1 tokens), which costs a whole forward pass over W tokens per token (here the
  passes are batched, which changes nothing in their results).

A cache policy applied token by token in every layer is a mask: the key and value of token j in
layer ℓ were computed when j was read, from j's own cache, so a full forward pass in which query t
may see exactly cache(t), with in-cache distances, gives the same outputs. streaming_forward does
that; stream_step_by_step keeps real per-layer caches and evicts, and the tests check they agree.

Differences from the paper:
- The paper streams millions of tokens through Llama-2, MPT, Falcon and Pythia models; the page
  trains a tiny two-layer ALiBi model for a few seconds on a synthetic stream made so that its
  heads usually have nothing to read (trigger_copy_sequences). Its sinks form in the first layer,
  not in the layers above the first two where the paper finds them in large models.
- The cache keeps post-projection keys; with RoPE the paper caches keys before rotation and rotates
  them by their cache positions at each step, which ALiBi does not need.

Shapes: B batch, L tokens in the stream, H heads, d_model features; tokens (B, L) → logits
(B, L, vocab). Masks and distances are (L, L): row t is query t, column j key j.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from runnable._training import fit
from runnable.alibi import TinyLanguageModel
from runnable.multi_head_attention import MultiHeadAttention


def cache_layout(L: int, n_sink: int, window: int, device=None) -> tuple[Tensor, Tensor]:
    """(allowed, distance), each (L, L): whether key j is in query t's cache of n_sink first and
    window − n_sink recent tokens, and the distance between them counted in cache positions."""
    t = torch.arange(L, device=device)[:, None]
    j = torch.arange(L, device=device)[None, :]
    start = torch.clamp(t - (window - n_sink) + 1, min=n_sink)          # first recent token in t's cache
    allowed = (j <= t) & ((j >= start) | (j < n_sink))
    def cache_position(p):                                              # sinks first, then the recent tokens
        return torch.where(p < n_sink, p, n_sink + (p - start))
    distance = (cache_position(t) - cache_position(j)).float()
    return allowed, distance


def cached_self_attention(attention: MultiHeadAttention, h: Tensor, slopes: Tensor, allowed: Tensor,
                          distance: Tensor) -> tuple[Tensor, Tensor]:
    """ALiBi attention in which query t sees the keys `allowed` and the bias is −m · distance.
    Returns the output (B, L, d_model) and the weights (B, H, L, L)."""
    q, k, v = (attention.split_heads(projection(h)) for projection in (attention.q_proj, attention.k_proj, attention.v_proj))
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) - slopes[:, None, None] * distance
    weights = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    return attention.out_proj(attention.merge_heads(weights @ v)), weights


def streaming_forward(model: TinyLanguageModel, tokens: Tensor, n_sink: int, window: int,
                      weights: list | None = None) -> Tensor:
    """Logits (B, L, vocab) of reading the stream with the cache policy, as one masked pass; the
    attention weights of each layer are appended to `weights` if given."""
    allowed, distance = cache_layout(tokens.shape[1], n_sink, window, tokens.device)
    x = model.embed(tokens)
    for block in model.blocks:
        def attend(h):
            output, w = cached_self_attention(block.self_attn, h, model.slopes, allowed, distance)
            if weights is not None:
                weights.append(w)
            return output
        x = block.residuals(x, attend)
    return model.unembed(model.norm(x))


def stream_step_by_step(model: TinyLanguageModel, tokens: Tensor, n_sink: int, window: int) -> Tensor:
    """The same as streaming_forward, the slow way: one token at a time through per-layer caches
    of keys and values that evict the oldest non-sink token once full."""
    B, L = tokens.shape
    caches = [([], []) for _ in model.blocks]                           # per layer: lists of (B, H, 1, d)
    logits = []
    for t in range(L):
        x = model.embed(tokens[:, t:t + 1])
        for block, (keys, values) in zip(model.blocks, caches):
            attention = block.self_attn

            def attend(h):
                q = attention.split_heads(attention.q_proj(h))
                keys.append(attention.split_heads(attention.k_proj(h)))
                values.append(attention.split_heads(attention.v_proj(h)))
                if len(keys) > window:                                  # evict the oldest token after the sinks
                    del keys[n_sink], values[n_sink]
                k, v = torch.cat(keys, dim=2), torch.cat(values, dim=2)
                distance = torch.arange(k.shape[2] - 1, -1, -1, dtype=q.dtype, device=q.device)   # in cache positions
                scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) - model.slopes[:, None, None] * distance
                return attention.out_proj(attention.merge_heads(torch.softmax(scores, dim=-1) @ v))

            x = block.residuals(x, attend)
        logits.append(model.unembed(model.norm(x)))
    return torch.cat(logits, dim=1)


def recompute_logits(model: TinyLanguageModel, tokens: Tensor, window: int) -> Tensor:
    """Logits (B, L, vocab) where the prediction after token t comes from a fresh pass over BOS
    (tokens[:, 0]) and the last window − 1 tokens up to t. While t < window the sample is the
    stream's own prefix; after that, all samples have `window` tokens and go through in one batch."""
    B, L = tokens.shape
    prefix = model(tokens[:, :window])                                   # t < window: BOS + tokens 1 … t
    if L <= window:
        return prefix[:, :L]
    recent = tokens[:, 1:].unfold(1, window - 1, 1)[:, 1:]    # (B, L − window, window − 1), the one ending at t = window first
    bos = tokens[:, :1, None].expand(B, recent.shape[1], 1)
    samples = torch.cat([bos, recent], dim=2).flatten(0, 1)             # (B·(L − window), window)
    later = model(samples)[:, -1].view(B, L - window, -1)
    return torch.cat([prefix, later], dim=1)


def trigger_copy_sequences(batch: int, length: int, vocab: int, triggers: int, generator: torch.Generator) -> Tensor:
    """(batch, length) tokens, each uniformly random, except that the token after a trigger (ids
    0 … triggers − 1) repeats the token before the trigger. Only those repeats can be predicted, so
    a head that reads the previous token is useful one token in vocab/triggers and has nothing to
    read everywhere else."""
    tokens = torch.randint(vocab, (batch, length), generator=generator)
    for t in range(2, length):
        tokens[:, t] = torch.where(tokens[:, t - 1] < triggers, tokens[:, t - 2], tokens[:, t])
    return tokens


def stream(batch: int, length: int, vocab: int, triggers: int, generator: torch.Generator) -> Tensor:
    """(batch, 1 + length): the BOS token (id = vocab), then trigger_copy_sequences."""
    bos = torch.full((batch, 1), vocab, dtype=torch.long)
    return torch.cat([bos, trigger_copy_sequences(batch, length, vocab, triggers, generator)], dim=1)


def train_streaming_model(train_length: int = 31, steps: int = 400, vocab: int = 32, triggers: int = 4,
                          seed: int = 0) -> TinyLanguageModel:
    """A two-layer ALiBi model trained on BOS + train_length tokens of trigger_copy_sequences."""
    torch.manual_seed(seed)
    data = torch.Generator().manual_seed(seed)
    model = TinyLanguageModel(vocab + 1, layers=2)                      # the extra token is BOS

    def loss(m):
        tokens = stream(16, train_length, vocab, triggers, data)
        return F.cross_entropy(m(tokens)[:, 1:-1].flatten(0, 1), tokens[:, 2:].flatten())   # skip BOS → first token

    fit(model, loss, steps, lambda step: 1e-2)
    return model.eval()


def attention_on_first_token(model: TinyLanguageModel, tokens: Tensor, first_query: int,
                             queries: Tensor | None = None) -> Tensor:
    """(layers, heads): the mean share of attention that queries first_query … L − 1 of a plain
    pass over `tokens` (B, L) put on token 0; only the queries where `queries` (B, L, bool) is
    True, if given."""
    weights = []
    with torch.no_grad():
        streaming_forward(model, tokens, 0, tokens.shape[1], weights)
    selected = torch.ones_like(tokens, dtype=torch.bool) if queries is None else queries.clone()
    selected[:, :first_query] = False
    return torch.stack([(w[..., 0] * selected[:, None]).sum((0, 2)) / selected.sum() for w in weights])


def token_losses(logits: Tensor, tokens: Tensor) -> Tensor:
    """Cross-entropy of each next-token prediction, averaged over the batch: (L − 1,)."""
    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:], reduction="none").mean(0)


def compare_policies(model: TinyLanguageModel, tokens: Tensor, window: int, n_sink: int = 4) -> dict[str, Tensor]:
    """Per-token losses over the stream for the three ways to read it with `window` cached tokens."""
    with torch.no_grad():
        return {"window only": token_losses(streaming_forward(model, tokens, 0, window), tokens),
                f"{n_sink} sinks + window": token_losses(streaming_forward(model, tokens, n_sink, window), tokens),
                "recompute": token_losses(recompute_logits(model, tokens, window), tokens)}


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """The cache layout; the masked pass against step-by-step decoding; a tiny model's share of
    attention on BOS, and its loss on a stream five times its training length under the three
    policies."""
    allowed, distance = cache_layout(10, 2, 5)
    print("who query t may read with 2 sinks and a cache of 5 (1 = in the cache):")
    print(allowed.int())
    torch.manual_seed(seed)
    model = TinyLanguageModel(9, layers=2).to(device).eval()
    tokens = torch.randint(9, (2, 40), device=device)
    with torch.no_grad():
        error = (streaming_forward(model, tokens, 4, 16) - stream_step_by_step(model, tokens, 4, 16)).abs().max().item()
    print(f"masked pass vs token-by-token caches (untrained model, 40 tokens): max |difference| = {error:.1e}")
    model = train_streaming_model(seed=seed).to(device)
    tokens = stream(32, 159, 32, 4, torch.Generator().manual_seed(seed + 1)).to(device)
    on_bos = attention_on_first_token(model, tokens[:, :32], first_query=16)
    print("share of attention on BOS, queries 16-31 of a 32-token sample (rows = layers, columns = heads):")
    print(on_bos.cpu().numpy().round(2))
    losses = compare_policies(model, tokens, window=32)
    print(f"mean loss over tokens 48-159 of a 160-token stream, cache of 32 (trained on 32; "
          f"uniform guess log 32 = {math.log(32):.3f}):")
    for name, per_token in losses.items():
        print(f"  {name:<18} {per_token[48:].mean().item():.3f}")
    return {"error": error, "losses": {name: per_token[48:].mean().item() for name, per_token in losses.items()},
            "per_token": {name: per_token.cpu() for name, per_token in losses.items()}, "on_bos": on_bos.cpu(),
            "model": model, "tokens": tokens}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
