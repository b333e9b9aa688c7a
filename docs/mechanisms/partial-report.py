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
# # Partial report and the iconic store (Sperling)
#
# In [Sperling's experiments](../../entries/1960-sperling-partial-report/) observers saw an
# array of letters for a fraction of a second. Asked to report everything (*whole report*),
# they managed about four or five letters. In *partial report*, a tone after the display
# named one row at random, and the observer reported only that row. Because the observer could
# not know in advance which row would be cued, the score on the cued row times the number of
# rows estimates how much of the whole array was still available when the cue came. At short
# delays that estimate was far above the whole-report span; as the cue was delayed the
# advantage shrank, and after about a second it was essentially gone.
#
# ## A model: a fading trace read by a slow reader
#
# The display switches off at $t = 0$. Its trace in a large but short-lived store (the *icon*)
# fades exponentially,
#
# $$a(t) = e^{-t/\tau},$$
#
# and a reader of limited capacity copies items from it into a durable store. The reader's
# throughput is $r$ items per second at full trace strength, shared equally among the $m$
# items it is currently reading, so each such item is copied at the first event of a
# process with rate $r\,a(t)/m$. Before the cue the reader reads all $N = 12$ items; after a
# cue at delay $d$ it reads only the $C = 4$ items of the cued row. Integrating the rate gives
# the chance that a cued item is ever copied, $1 - e^{-\Lambda(d)}$, with
#
# $$\Lambda(d) = \frac{r\tau}{N}\big(1 - e^{-d/\tau}\big) + \frac{r\tau}{C}\, e^{-d/\tau}.$$
#
# Hence the two measures:
#
# $$\text{whole report} = N\big(1 - e^{-r\tau/N}\big), \qquad
#   \text{available (partial report)} = \text{rows} \times \text{cued-row score} = N\big(1 - e^{-\Lambda(d)}\big).$$
#
# At $d = 0$ the whole throughput goes to four items, giving $N(1 - e^{-r\tau/C})$. As
# $d \to \infty$ the trace has faded before the cue arrives, only the items read
# without knowing the row are left, and the estimate falls to the whole-report level. An
# optional capacity $K$ of the durable store keeps only the first $K$ items copied. There is
# no closed form with $K$, so the simulation handles it.
#
# The parameters ($\tau = 0.3$ s, $r = 20$ items/s) are chosen for illustration, not fitted.
# The model reproduces the **qualitative** shape of Sperling's results (a large partial-report
# advantage at zero delay that fades over about a second to the whole-report level), not
# his numbers.

# %% [markdown]
# ## Running it
#
# 4000 simulated trials per cue delay, with the same random draws at every delay. The points
# are the simulation, and the line is the closed form.

# %%
from _setup import show_figure
import runnable.partial_report as mechanism
import matplotlib.pyplot as plt
import torch

result = mechanism.demo("cpu")
fine = torch.linspace(0, 1.05, 200)
figure, axis = plt.subplots(figsize=(5.5, 3.2))
axis.plot(result["delays"], result["partial"], "o", color="C1", label="partial report (simulated)")
axis.plot(fine, mechanism.expected_available(fine), color="C1", lw=1, label=r"closed form $N(1 - e^{-\Lambda(d)})$")
axis.axhline(result["whole"], color="C0", lw=1.5, label=f"whole report ({result['whole']:.2f})")
axis.axhline(12, color="#888888", ls=":", lw=1, label="items in the array")
axis.set_xlabel("cue delay after the display (s)")
axis.set_ylabel("letters available")
axis.set_ylim(0, 12.5)
axis.legend(fontsize=7, frameon=False, loc="lower left")
show_figure("Chart of letters available against cue delay: simulated partial-report points, the closed-form curve, the whole-report level and the twelve items shown.")
assert result["max_error"] < 0.15

# %% [markdown]
# ## A span that does not grow with the array
#
# Without a store limit, whole report in this model grows with the size of the array, towards
# $r\tau$. Sperling found that whole report stays at about four or five items however large the
# array is. A faster reader ($r = 40$ items/s) feeding a durable store that holds only
# $K = 5$ items gives that flat span. The partial-report advantage remains at zero delay,
# because one cued row fits in the store, and it is gone by a one-second delay.

# %%
generator = torch.Generator().manual_seed(0)
delays = torch.tensor([0.0, 1.0])
print(" array   whole, no limit (closed form)   whole, K = 5   partial d = 0, K = 5   partial d = 1 s, K = 5")
for rows, columns in [(1, 4), (2, 4), (3, 4), (3, 6), (4, 8)]:
    whole, partial = mechanism.simulate(delays, trials=4000, rows=rows, columns=columns, rate=40.0, capacity=5,
                                        generator=generator)
    unlimited = mechanism.expected_whole_report(rows * columns, 40.0, 0.3)
    print(f"{rows} × {columns}{unlimited:30.2f}{whole.mean():16.2f}{partial[0].mean():23.2f}{partial[1].mean():25.2f}")

# %% [markdown]
# ## What machine attention took from it
#
# Sperling's arrangement is a large buffer that holds everything briefly, a narrow stage that
# can take only a few items from it, and a cue that decides which ones. Neural attention has
# the same parts. The encoder states of [additive attention](../bahdanau-attention/) are a
# buffer that keeps the whole input instead of squeezing it through one fixed-size vector, and
# the decoder reads a few of them at each step. [Memory networks](../memory-networks/) and the
# [neural Turing machine](../ntm-addressing/) make the buffer an explicit memory and the cue
# an address: a key compared with every slot, and only the slots that match are passed on.
# Unlike the icon, those memories do not fade unless the model learns to erase them.
