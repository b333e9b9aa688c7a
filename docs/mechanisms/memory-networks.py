# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Memory networks: hard hops and end-to-end hops
#
# A memory network writes a story, one sentence $x_i$ at a time, into a memory and answers a
# question by reading it in several *hops*: each hop finds a sentence and adds what it found to
# the query for the next hop.
#
# **Memory Networks** (Weston, Chopra and Bordes) read by arg-max. The output module $O$ picks
# the best supporting memory for the question $x$, then the best one for the question together
# with the first, and the response module $R$ picks a word:
#
# $$o_1 = \arg\max_i s_O(x, m_i), \qquad o_2 = \arg\max_i s_O([x, m_{o_1}], m_i), \qquad
#   r = \arg\max_w s_R([x, m_{o_1}, m_{o_2}], w),$$
#
# $$s(x, y) = \Phi_x(x)^\top U^\top U \Phi_y(y).$$
#
# $\Phi$ is a bag of words, and every word gets three embeddings: one when it is a word of the
# question, one when it is a word of an already chosen memory (both inside $\Phi_x$), one when it
# is a word of a candidate memory ($\Phi_y$). The arg-max has no gradient, so the paper trains
# with the supporting sentences given as supervision.
#
# **End-To-End Memory Networks** (Sukhbaatar, Szlam, Weston and Fergus) make the read soft, so
# the whole network trains from question–answer pairs alone. Hop $k$ embeds every sentence as a
# key $m_i = \sum_j A^k x_{ij}$ and a value $c_i = \sum_j C^k x_{ij}$; with $u^1 = \sum_j B q_j$,
#
# $$p_i = \operatorname{softmax}(u^\top m_i), \qquad o = \sum_i p_i c_i, \qquad
#   u^{k+1} = u^k + o^k, \qquad \hat a = \operatorname{softmax}\big(W(o^K + u^K)\big).$$
#
# With *adjacent* weight tying, $A^{k+1} = C^k$, $W^\top = C^K$ and $B = A^1$, so $K$ hops need
# $K + 1$ embedding tables $E_0, \dots, E_K$, with $A^k = E_{k-1}$ and $C^k = E_k$. The soft read
# becomes the hard one as the scores are scaled up: $\operatorname{softmax}(\beta\, u^\top m)$
# tends to the one-hot vector of $\arg\max_i u^\top m_i$ as $\beta \to \infty$. This module leaves
# out the paper's position and temporal encodings, so it ignores word and sentence order.

# %% [markdown]
# ## Running it: two hops through a story
#
# The question is *where is the apple?* and nothing says so directly: the network has to find
# who picked the apple up, then where that person went. The embeddings are **set by hand**, not
# learned, so that the arithmetic can be followed; a trained network need not produce hop
# weights this clean. Each axis of the 8-dimensional embedding is a concept, and every entry is 3:
#
# - $E_0 = B = A^1$ (what is asked about): *where* → where, *apple* → apple;
# - $E_1 = C^1 = A^2$ (who, and who moved): each name → itself, *went* → where;
# - $E_2 = C^2 = W^\top$ (where to): each place → itself.
#
# So $u^1 = 3(\text{where} + \text{apple})$ scores 9 against *john picked up the apple* and 0
# against every other sentence. The read-out is that sentence's value $3\,\text{john}$, so
# $u^2 = 3(\text{where} + \text{apple} + \text{john})$, which scores 18 against *john went to the
# garden* and at most 9 elsewhere. The second read-out, $3\,\text{garden}$, is what $W$ scores.
# No sentence order is needed here because everyone moves once.

# %%
from _setup import heatmap
import runnable.memory_networks as mechanism
result = mechanism.demo("cpu")
heatmap(result["weights"].T.numpy(), xlabels=["hop 1", "hop 2"],
        ylabels=[f"{i}: {s}" for i, s in enumerate(mechanism.STORY)], title="hop weights $p_i$",
        alt="Heatmap of the memory network's attention over the story's sentences in hop 1 and hop 2.")
assert result["max_error"] < 1e-5
assert result["weights"].argmax(-1).tolist() == [1, 3] and result["answer"] == "garden"

# %% [markdown]
# ## From soft to hard
#
# Multiplying the query by $\beta$ multiplies every score by $\beta$. As $\beta$ grows the soft
# weights approach the one-hot arg-max, which is the read of Weston et al.'s network; the soft
# read keeps a gradient for every memory, the hard one for none of the scores.

# %%
import torch

torch.manual_seed(0)
u, keys, values = torch.randn(1, 8), torch.randn(1, 6, 8), torch.randn(1, 6, 8)
_, hard = mechanism.read_memory(u, keys, values, hard=True)
print("hard (arg-max) p:", [round(p, 3) for p in hard[0].tolist()])
for beta in (0.1, 1.0, 10.0, 100.0):
    _, soft = mechanism.read_memory(beta * u, keys, values)
    print(f"β = {beta:5}: soft p = {[round(p, 3) for p in soft[0].tolist()]}, "
          f"max |soft - hard| = {(soft - hard).abs().max():.1e}")

# %% [markdown]
# ## Weston et al.'s hard network on the same story
#
# `MemoryNetwork` keeps one set of keys for every hop, so hop 2 cannot use different keys to
# stop matching the apple; the paper's separate embedding for words of a *chosen* memory does
# it instead. With the question table *where* → where, *apple* → 2 apple; the candidate table
# (names, *apple* → apple, *went* → where); the supporting table (names, places, and
# *apple* → −2 apple) and places as answers: hop 1 scores 2 for the apple sentence and 1 for
# each *went* sentence, and choosing it adds john − 2 apple to the query, which leaves
# where + john, so hop 2 scores 2 for *john went to the garden*. Without the −2, the apple
# sentence wins hop 2 as well (3 against 2), and the query never picks up a place.

# %%
for apple in (-2.0, 0.0):
    model = mechanism.MemoryNetwork(len(mechanism.VOCAB), len(mechanism.CONCEPTS), hops=2)
    model.load_state_dict({
        "question.weight": mechanism.hand_set({"where": ("where", 1), "apple": ("apple", 2)}),
        "candidate.weight": mechanism.hand_set({**mechanism.PEOPLE, "apple": ("apple", 1), "went": ("where", 1)}),
        "supporting.weight": mechanism.hand_set({**mechanism.PEOPLE, **mechanism.PLACES, "apple": ("apple", apple)}),
        "response.weight": mechanism.hand_set(mechanism.PLACES)})
    scores, chosen = model(result["story_ids"], result["question_ids"])
    answer = mechanism.VOCAB[scores.argmax().item()] if scores.max() > 0 else "nothing (no place scores above 0)"
    print(f"supporting 'apple' → {apple:+} apple: chooses sentences {chosen[0].tolist()}, answers {answer}")
