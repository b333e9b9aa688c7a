"""Memory networks against the hops written as loops, closed forms (one memory, the hard limit of the
soft read), masks, batching, gradients and the hand-set story."""
from __future__ import annotations


import torch

from runnable.memory_networks import (PEOPLE, PLACES, QUESTION, STORY, VOCAB, CONCEPTS, EndToEndMemoryNetwork,
                                      MemoryNetwork, demo, hand_set, naive_memory_hops, read_memory)

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, sums over at most a few dozen terms


def _story(device, batch=3, sentences=6, words=4, vocab=15, seed=0):
    """Random word ids with trailing padding (id 0) and a sentence mask with some padded sentences."""
    generator = torch.Generator().manual_seed(seed)
    story = torch.randint(1, vocab, (batch, sentences, words), generator=generator)
    story[:, :, -1] = 0                                     # every sentence one word shorter
    question = torch.randint(1, vocab, (batch, words), generator=generator)
    question[:, -2:] = 0
    mask = torch.ones(batch, sentences, dtype=torch.bool)
    mask[1, 4:] = False
    mask[2, 1:] = False                                     # one real sentence only
    return story.to(device), question.to(device), mask.to(device)


def test_end_to_end_matches_the_loop_with_masks(device):
    torch.manual_seed(1)
    model = EndToEndMemoryNetwork(vocab=15, dim=6, hops=3).to(device)
    story, question, mask = _story(device)
    logits, weights = model(story, question, mask)
    E = [e.weight for e in model.embeddings]
    ref_logits, ref_weights = naive_memory_hops(E[0], E[:-1], E[1:], E[-1], story, question, mask)
    assert weights.shape == (3, 3, 6) and logits.shape == (3, 15)
    torch.testing.assert_close(weights, ref_weights, **TOLERANCE)
    torch.testing.assert_close(logits, ref_logits, **TOLERANCE)
    assert torch.all(weights.permute(0, 2, 1)[~mask] == 0)          # padded sentences get p_i = 0
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 3, device=device))
    assert torch.all(weights[2, :, 0] == 1)                          # the lone real sentence takes it all


def test_memory_network_matches_the_loop(device):
    torch.manual_seed(2)
    model = MemoryNetwork(vocab=15, dim=6, hops=2).to(device)
    story, question, mask = _story(device, seed=3)
    scores, chosen = model(story, question, mask)
    tables = [model.candidate.weight] * 2, [model.supporting.weight] * 2
    ref_scores, ref_weights = naive_memory_hops(model.question.weight, *tables, model.response.weight,
                                                story, question, mask, hard=True)
    assert torch.equal(chosen, ref_weights.argmax(-1))
    torch.testing.assert_close(scores, ref_scores, **TOLERANCE)
    assert all(mask[b, chosen[b]].all() for b in range(3))           # never a padded sentence
    assert chosen[2].tolist() == [0, 0]


def test_one_memory_gives_p_one_and_o_its_value(device):
    """Closed form: with N = 1, p_1 = 1 and o = c_1 whatever the scores."""
    u, keys, values = (torch.randn(4, 5, device=device), torch.randn(4, 1, 5, device=device),
                       torch.randn(4, 1, 5, device=device))
    for hard in (False, True):
        read, weights = read_memory(u, keys, values, hard=hard)
        assert torch.all(weights == 1)
        torch.testing.assert_close(read, values[:, 0])


def test_masked_memories_stay_out_even_when_every_score_is_very_negative(device):
    """A finite fill such as -1e9 or -1e4 would win against real scores below it; -inf never does."""
    u = torch.full((1, 2), -1e6, device=device)
    keys = torch.ones(1, 3, 2, device=device)                        # every score u^T m_i = -2e6
    values = torch.arange(6.0, device=device).view(1, 3, 2)
    mask = torch.tensor([[False, True, False]], device=device)
    for hard in (False, True):
        read, weights = read_memory(u, keys, values, mask, hard=hard)
        assert weights.tolist() == [[0.0, 1.0, 0.0]]
        torch.testing.assert_close(read, values[:, 1])


def test_soft_read_becomes_the_hard_read_as_scores_grow(device):
    """softmax(β u^T m) → one-hot(argmax) as β → ∞: the MemN2N read tends to the MemNN read."""
    torch.manual_seed(4)                                             # drawn on the CPU: same numbers on every device
    u, keys, values = (t.to(device) for t in (torch.randn(5, 6), torch.randn(5, 7, 6), torch.randn(5, 7, 6)))
    top2 = torch.einsum("bd,bnd->bn", u, keys).topk(2).values
    assert (top2[:, 0] - top2[:, 1]).min() > 1e-2                    # no near-ties, so the limit is sharp
    hard_read, hard_weights = read_memory(u, keys, values, hard=True)
    gaps = []
    for beta in (1.0, 10.0, 100.0, 1e4):
        soft_read, soft_weights = read_memory(beta * u, keys, values)
        gaps.append((soft_weights - hard_weights).abs().max().item())
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0.05
    torch.testing.assert_close(soft_weights, hard_weights, atol=1e-6, rtol=0)  # e^{-β·0.01} with β = 1e4
    torch.testing.assert_close(soft_read, hard_read, atol=1e-5, rtol=1e-5)


def test_hard_end_to_end_matches_the_hard_loop(device):
    torch.manual_seed(5)
    model = EndToEndMemoryNetwork(vocab=15, dim=6, hops=2).to(device)
    story, question, mask = _story(device, seed=6)
    logits, weights = model(story, question, mask, hard=True)
    E = [e.weight for e in model.embeddings]
    ref_logits, ref_weights = naive_memory_hops(E[0], E[:-1], E[1:], E[-1], story, question, mask, hard=True)
    assert torch.equal(weights, ref_weights.to(weights.dtype))
    torch.testing.assert_close(logits, ref_logits, **TOLERANCE)


def test_batching_does_not_mix_examples(device):
    torch.manual_seed(7)
    model = EndToEndMemoryNetwork(vocab=15, dim=6, hops=2).to(device)
    story, question, _ = _story(device, batch=4, seed=8)
    batched, _ = model(story, question)
    single = torch.cat([model(story[i:i + 1], question[i:i + 1])[0] for i in range(4)])
    torch.testing.assert_close(batched, single, **TOLERANCE)


def test_gradients_reach_every_table_when_soft_and_not_the_keys_when_hard(device):
    torch.manual_seed(9)
    model = EndToEndMemoryNetwork(vocab=15, dim=6, hops=3).to(device)
    story, question, mask = _story(device, seed=10)
    logits, _ = model(story, question, mask)
    torch.nn.functional.cross_entropy(logits, torch.tensor([1, 2, 3], device=device)).backward()
    for k, embedding in enumerate(model.embeddings):
        grad = embedding.weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, k
        if k < len(model.embeddings) - 1:  # E_K is also W^T, where <pad> is scored as an answer word
            assert torch.all(grad[0] == 0), "the padding row must get no gradient from a lookup"
    keys = torch.randn(2, 4, 3, device=device, requires_grad=True)
    values = torch.randn(2, 4, 3, device=device, requires_grad=True)
    read, _ = read_memory(torch.randn(2, 3, device=device), keys, values, hard=True)
    read.sum().backward()
    assert keys.grad is None and values.grad is not None              # the arg-max is not differentiable


def test_the_hand_set_memory_network_answers_the_story(device):
    """The same story for Weston et al.'s hard network, with the tables the page shows."""
    model = MemoryNetwork(len(VOCAB), len(CONCEPTS), hops=2).to(device)
    model.load_state_dict({"question.weight": hand_set({"where": ("where", 1), "apple": ("apple", 2)}),
                           "candidate.weight": hand_set({**PEOPLE, "apple": ("apple", 1), "went": ("where", 1)}),
                           "supporting.weight": hand_set({**PEOPLE, **PLACES, "apple": ("apple", -2)}),
                           "response.weight": hand_set(PLACES)})
    result = demo(device)
    scores, chosen = model(result["story_ids"].to(device), result["question_ids"].to(device))
    assert chosen.tolist() == [[1, 3]] and VOCAB[scores.argmax().item()] == "garden"


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["weights"].argmax(-1).tolist() == [1, 3]            # the apple's holder, then where he went
    assert result["weights"].max(-1).values.min() > 0.99
    assert result["hard_weights"].argmax(-1).tolist() == [1, 3] and result["answer"] == "garden"
    assert STORY[1].endswith("apple") and QUESTION.endswith("apple")
