"""Memory networks: hard arg-max hops (Weston, Chopra & Bordes; bib: weston2015memory) and soft
end-to-end hops (Sukhbaatar, Szlam, Weston & Fergus; bib: sukhbaatar2015end) over a story's sentences.

Memory Networks (section 3.1): module O picks supporting memories by arg-max, module R a word,
    o_1 = argmax_i s_O(x, m_i),   o_2 = argmax_i s_O([x, m_{o_1}], m_i),   s(x, y) = Φ_x(x)^T U^T U Φ_y(y),
    r = argmax_w s_R([x, m_{o_1}, m_{o_2}], w),
with bag-of-words Φ: a word embeds one way in x, another in a chosen m_{o_k} (both Φ_x), a third in a
candidate m_i (Φ_y). Here s_R reuses s_O's U Φ_x(..) against answer embeddings U_R (a simplification).
End-To-End Memory Networks (section 2): with m_i = Σ_j A^k x_ij, c_i = Σ_j C^k x_ij, u^1 = Σ_j B q_j,
    p_i = softmax(u^T m_i),   o = Σ_i p_i c_i,   u^{k+1} = u^k + o^k,   â = softmax(W(o^K + u^K)),
and adjacent tying (section 2.2) A^{k+1} = C^k, W^T = C^K, B = A^1: K hops use tables E_0..E_K,
A^k = E_{k-1}, C^k = E_k. No position or temporal encoding (section 4.1): word order is ignored.
`read_memory` is one hop of either kind; `naive_memory_hops` is the slow reference the tests compare
both networks with.

Differences from the paper:
- The end-to-end network ties weights only between adjacent hops (each hop's output embedding is the
  next hop's input embedding), one of the paper's two tying schemes; layer-wise tying and temporal
  encoding are left out.
- In the hard network s_R reuses s_O's U Φ_x(..) against the answer embeddings U_R, a
  simplification, and training with the margin loss and the paper's bAbI experiments are not
  reproduced.

Shapes: B batch, N sentences, J words a sentence (id 0 pads), V vocabulary, d embedding, K hops.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def read_memory(u, keys, values, mask=None, hard=False):
    """u (B, d), keys m_i and values c_i (B, N, d), mask (B, N) True where a real sentence is.
    Returns the read-out o (B, d) and the weights p (B, N), one-hot when hard."""
    scores = torch.einsum("bd,bnd->bn", u, keys)                        # u^T m_i   (B, N)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    if hard:  # o_1 = argmax_i s_O(x, m_i): a one-hot choice, so no gradient reaches the scores
        weights = nn.functional.one_hot(scores.argmax(-1), scores.shape[-1]).to(values.dtype)
    else:     # p_i = softmax(u^T m_i)
        weights = torch.softmax(scores, dim=-1)
    # o = Σ_i p_i c_i
    return torch.einsum("bn,bnd->bd", weights, values), weights


class MemoryNetwork(nn.Module):
    """Weston et al.'s MemNN with bag-of-words features: K hard hops, then an arg-max answer."""

    def __init__(self, vocab: int, dim: int, hops: int = 2):
        super().__init__()
        self.question = nn.Embedding(vocab, dim, padding_idx=0)    # U on words of x        (in Φ_x)
        self.supporting = nn.Embedding(vocab, dim, padding_idx=0)  # U on words of m_{o_k}  (in Φ_x)
        self.candidate = nn.Embedding(vocab, dim, padding_idx=0)   # U on words of m_i      (Φ_y)
        self.response = nn.Embedding(vocab, dim, padding_idx=0)    # U_R on answer words w
        self.hops = hops

    def forward(self, story, question, mask=None):
        """story (B, N, J), question (B, J). Returns answer scores (B, V) and chosen o_1..o_K (B, K)."""
        u, chosen = self.question(question).sum(1), []              # U Φ_x(x)
        keys, values = self.candidate(story).sum(2), self.supporting(story).sum(2)
        for _ in range(self.hops):
            # o_k = argmax_i s_O([x, m_{o_1}, ..], m_i); bags of words add, so U Φ_x grows by U m_{o_k}
            read, weights = read_memory(u, keys, values, mask, hard=True)
            u = u + read
            chosen.append(weights.argmax(-1))
        # r = argmax_w s_R([x, m_{o_1}, m_{o_2}], w)
        return u @ self.response.weight.T, torch.stack(chosen, 1)


class EndToEndMemoryNetwork(nn.Module):
    """MemN2N with adjacent weight tying; hard=True swaps the softmax for an arg-max."""

    def __init__(self, vocab: int, dim: int, hops: int = 3):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(vocab, dim, padding_idx=0) for _ in range(hops + 1))

    def forward(self, story, question, mask=None, hard=False):
        """story (B, N, J), question (B, J). Returns answer logits (B, V) and hop weights p (B, K, N)."""
        u, hop_weights = self.embeddings[0](question).sum(1), []    # u^1 = Σ_j B q_j, B = A^1 = E_0
        for A, C in zip(self.embeddings[:-1], self.embeddings[1:]):  # A^k = E_{k-1}, C^k = E_k = A^{k+1}
            read, weights = read_memory(u, A(story).sum(2), C(story).sum(2), mask, hard)
            u = u + read                                             # u^{k+1} = u^k + o^k
            hop_weights.append(weights)
        # â = softmax(W(o^K + u^K)) with W^T = C^K = E_K; the softmax is left to the loss
        return u @ self.embeddings[-1].weight.T, torch.stack(hop_weights, 1)


@torch.no_grad()
def naive_memory_hops(q_table, key_tables, value_tables, answer_table, story, question, mask=None, hard=False):
    """The same hops one sentence and one word at a time from raw (V, d) tables: the slow reference.
    MemN2N: key_tables E_0..E_{K-1}, value_tables E_1..E_K, answer E_K. MemNN: one table K times."""
    answers, weights = [], []
    for b in range(story.shape[0]):
        u, hops = sum(q_table[w] for w in question[b].tolist()), []
        real = [i for i in range(story.shape[1]) if mask is None or mask[b, i]]
        bag = lambda table, i: sum(table[w] for w in story[b, i].tolist())  # noqa: E731
        for keys_table, values_table in zip(key_tables, value_tables):
            scores = {i: (u @ bag(keys_table, i)).item() for i in real}
            exps = {i: math.exp(s - max(scores.values())) for i, s in scores.items()}
            best = max(real, key=scores.get)  # the first of equal maxima, as torch.argmax
            p = {i: float(i == best) if hard else exps[i] / sum(exps.values()) for i in real}
            u = u + sum(p[i] * bag(values_table, i) for i in real)
            hops.append([p.get(i, 0.0) for i in range(story.shape[1])])
        answers.append(torch.stack([answer_table[w] @ u for w in range(answer_table.shape[0])]))
        weights.append(hops)
    return torch.stack(answers), torch.tensor(weights, device=story.device)


STORY = ["mary went to the kitchen", "john picked up the apple", "sandra went to the hallway",
         "john went to the garden", "mary picked up the football"]
QUESTION = "where is the apple"
VOCAB = ["<pad>"] + sorted({w for s in STORY + [QUESTION] for w in s.split()})
CONCEPTS = ["where", "apple", "john", "mary", "sandra", "kitchen", "garden", "hallway"]  # the d axes
PEOPLE, PLACES = {w: (w, 1) for w in CONCEPTS[2:5]}, {w: (w, 1) for w in CONCEPTS[5:]}


def hand_set(rows, scale=1.0):
    """A (V, d) embedding table from {word: (concept, value)}; every other entry is zero."""
    table = torch.zeros(len(VOCAB), len(CONCEPTS))
    for word, (concept, value) in rows.items():
        table[VOCAB.index(word), CONCEPTS.index(concept)] = scale * value
    return table


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Two hops of MemN2N over a five-sentence story with hand-set (not learned) embeddings, so nothing
    is random: hop 1 finds who has the apple, hop 2 where that person went. Checks against the loop."""
    encode = lambda s: [VOCAB.index(w) for w in s.split()] + [0] * (5 - len(s.split()))  # noqa: E731
    story = torch.tensor([[encode(s) for s in STORY]], device=device)
    question = torch.tensor([encode(QUESTION)], device=device)
    model = EndToEndMemoryNetwork(len(VOCAB), len(CONCEPTS), hops=2).to(device)
    model.load_state_dict({f"embeddings.{k}.weight": hand_set(rows, scale=3) for k, rows in enumerate([
        {"where": ("where", 1), "apple": ("apple", 1)},  # E_0 = B = A^1: what is asked about
        {**PEOPLE, "went": ("where", 1)},                # E_1 = C^1 = A^2: who, and who moved
        PLACES])})                                       # E_2 = C^2 = W^T: where to
    logits, weights = model(story, question)
    _, hard_weights = model(story, question, hard=True)
    E = [e.weight for e in model.embeddings]
    ref_logits, ref_weights = naive_memory_hops(E[0], E[:-1], E[1:], E[-1], story, question)
    error = max((logits - ref_logits).abs().max().item(), (weights - ref_weights).abs().max().item())
    answer = VOCAB[logits.argmax(-1).item()]
    print(f"question: {QUESTION}?   weights p (rows: hops, columns: sentences 0-4):")
    print("\n".join("  " + "  ".join(f"{w:.4f}" for w in row) for row in weights[0].tolist()))
    print(f"answer: {answer}; the hard (arg-max) hops pick sentences {hard_weights[0].argmax(-1).tolist()}")
    print(f"max |batched - loop| = {error:.2e} (tolerance 1e-5)")
    return {"weights": weights[0].detach().cpu(), "hard_weights": hard_weights[0].cpu(), "answer": answer,
            "story_ids": story.cpu(), "question_ids": question.cpu(), "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
