"""StreamingLLM's cache: the layout against a loop from the paper's definition (first n_sink tokens
plus the most recent, positions counted in the cache); the one-pass masked form against decoding
token by token through per-layer caches that evict; the recompute baseline against fresh passes;
and the trained demo model: a real sink, and the loss jump when it is evicted."""
from __future__ import annotations

import functools
import math

import pytest
import torch

from runnable.alibi import TinyLanguageModel
from runnable.attention_sinks import (attention_on_first_token, cache_layout, compare_policies, demo, recompute_logits,
                                      stream_step_by_step, streaming_forward, trigger_copy_sequences)

EXACT = dict(atol=1e-10, rtol=1e-10)   # float64 through two layers: the same sums in another order


def cache_of(t, n_sink, window):
    """The tokens in query t's cache, oldest first: the sinks, then the last window − n_sink."""
    recent = list(range(max(n_sink, t - (window - n_sink) + 1), t + 1))
    return [j for j in range(min(n_sink, t + 1))] + [j for j in recent if j >= n_sink]


@pytest.mark.parametrize("n_sink, window", [(0, 4), (1, 4), (2, 5), (4, 8), (0, 30)])
def test_layout_matches_the_definition(n_sink, window):
    L = 20
    allowed, distance = cache_layout(L, n_sink, window)
    for t in range(L):
        cache = cache_of(t, n_sink, window)
        assert [j for j in range(L) if allowed[t, j]] == cache and len(cache) <= window
        for position, j in enumerate(cache):                         # cache positions 0, 1, … without gaps
            assert distance[t, j].item() == len(cache) - 1 - position


def model_and_tokens(device, seed=0, L=30, vocab=9):
    torch.manual_seed(seed)
    model = TinyLanguageModel(vocab, d_model=16, num_heads=4, layers=2).to(device, torch.float64).eval()
    tokens = torch.randint(vocab, (2, L), generator=torch.Generator().manual_seed(seed)).to(device)
    tokens[:, 0] = vocab - 1                                          # BOS
    return model, tokens


@pytest.mark.parametrize("n_sink, window", [(0, 6), (1, 6), (4, 10), (2, 3), (0, 30)])
def test_one_masked_pass_equals_token_by_token_caches(device, n_sink, window):
    model, tokens = model_and_tokens(device, seed=n_sink + window)
    with torch.no_grad():
        torch.testing.assert_close(streaming_forward(model, tokens, n_sink, window),
                                   stream_step_by_step(model, tokens, n_sink, window), **EXACT)


def test_a_cache_as_long_as_the_stream_is_the_plain_model(device):
    model, tokens = model_and_tokens(device, seed=1)
    with torch.no_grad():
        torch.testing.assert_close(streaming_forward(model, tokens, 0, 30), model(tokens), **EXACT)
        torch.testing.assert_close(streaming_forward(model, tokens, 4, 30), model(tokens), **EXACT)


def test_keeping_the_sinks_changes_the_outputs_once_the_cache_is_full(device):
    """Negative control: the two policies agree until the first eviction and differ after it."""
    model, tokens = model_and_tokens(device, seed=2)
    with torch.no_grad():
        window_only, with_sinks = (streaming_forward(model, tokens, n, 8) for n in (0, 4))
    torch.testing.assert_close(window_only[:, :8], with_sinks[:, :8], **EXACT)
    assert not torch.allclose(window_only[:, 8:], with_sinks[:, 8:])


def test_recompute_is_a_fresh_pass_over_bos_and_the_last_tokens(device):
    model, tokens = model_and_tokens(device, seed=3, L=20)
    W = 6
    with torch.no_grad():
        logits = recompute_logits(model, tokens, W)
        for t in range(20):
            sample = torch.cat([tokens[:, :1], tokens[:, max(1, t - W + 2):t + 1]], dim=1)
            torch.testing.assert_close(logits[:, t], model(sample)[:, -1], **EXACT)


def test_compare_policies_keeps_four_sinks_by_default(device):
    model, tokens = model_and_tokens(device, seed=4)
    losses = compare_policies(model, tokens, window=8)
    assert list(losses) == ["window only", "4 sinks + window", "recompute"]
    assert all(loss.shape == (29,) and torch.isfinite(loss).all() for loss in losses.values())


def test_trigger_copy_sequences_repeat_the_token_before_each_trigger():
    tokens = trigger_copy_sequences(64, 40, vocab=32, triggers=4, generator=torch.Generator().manual_seed(0))
    assert tokens.min() >= 0 and tokens.max() < 32
    after_trigger = tokens[:, 1:-1] < 4
    torch.testing.assert_close(tokens[:, 2:][after_trigger], tokens[:, :-2][after_trigger], rtol=0, atol=0)
    assert 0.08 < after_trigger.float().mean() < 0.2          # about 4/32 of the tokens are triggers


@functools.lru_cache(maxsize=None)
def demo_on(device_type: str) -> dict:
    """demo trains its model once per device for all the tests below (a few seconds)."""
    return demo(device_type)


def test_demo_runs_and_agrees(device):
    result = demo_on(device.type)
    assert result["error"] < 1e-5
    # the copies were learned: every policy beats the uniform guess, log 32 ≈ 3.466, until the sink is evicted
    assert result["losses"]["recompute"] < math.log(32) - 0.05


def test_the_trained_model_forms_a_sink(device):
    """Seed 0: at least one head sends over half its attention to BOS (an even spread over the 17
    to 32 tokens a query at 16 … 31 sees would give it 1/17 or less), and less than a tenth from
    the queries that are triggers, where it has something to read."""
    result = demo_on(device.type)
    layer, head = divmod(result["on_bos"].argmax().item(), result["on_bos"].shape[1])
    assert result["on_bos"][layer, head] > 0.5
    sample = result["tokens"][:, :32]
    from_triggers = attention_on_first_token(result["model"], sample, 16, sample < 4)
    assert from_triggers[layer, head] < 0.1


def test_evicting_the_sink_raises_the_loss_and_keeping_it_matches_recompute(device):
    """Seed 0, tokens 48-159 of the demo's stream: window only loses more than 0.2 nats per token to
    the StreamingLLM cache, and does worse than the uniform guess (log 32) that knows nothing; the
    StreamingLLM cache stays within 0.02 of recomputing from BOS + the last 31 tokens."""
    losses = demo_on(device.type)["losses"]
    assert losses["window only"] > losses["4 sinks + window"] + 0.2
    assert losses["window only"] > math.log(32)
    assert abs(losses["4 sinks + window"] - losses["recompute"]) < 0.02
