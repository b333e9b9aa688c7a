"""Selection in dichotic listening: filter, attenuation and late selection as one model (Broadbent,
bib: broadbent1958perception; Treisman, bib: treisman1964selective; Deutsch & Deutsch, bib: deutsch1963attention;
the data from Cherry, bib: cherry1953some, and Moray, bib: moray1959attention).

Each ear c ∈ {attended, unattended} carries a stream of words, one per time step t. Before
recognition a selective filter scales each channel by a gain: g_att = 1, g_unatt = g. The word
w presented on channel c reaches its dictionary unit as noisy evidence, and the unit fires when
the evidence exceeds the word's threshold θ_w:

    e_ct = g_c · (1 + ε_ct),   ε_ct ~ N(0, σ²)          (signal 1 plus the ear's own noise)
    recognised_ct = e_ct > θ_w

The noise belongs to the sound in the ear, so the filter turns it down with the signal; with
g = 0 nothing of the channel reaches the dictionary. Important words (one's own name) have a
lower threshold than other words. A recognised word reaches awareness

    early selection:  whenever it is recognised (the filter already did the selecting);
    late selection:   only if its importance I_ct = task_c + w_word is the largest among the words
                      recognised at that moment (the reference level rises to the top signal).

The three theories are three settings of (g, stage): Broadbent's filter (g = 0, early),
Treisman's attenuation (0 < g < 1, early), Deutsch & Deutsch (g = 1, late). Closed form for one
presentation at gain g > 0:  P(recognised) = 1 − Φ((θ/g − 1)/σ).

Differences from the paper:
- The three theories are written as one signal-detection model of our own (a gain on the unattended
  ear, noisy evidence, word thresholds), not as any of the authors' own formalisations, which were
  verbal.
- The model reproduces the qualitative shape of Cherry's and Moray's findings with illustrative
  parameters (gains, noise and thresholds chosen by hand), not fitted to their data.

Shapes: N trials, T time steps; channels stacked as (N, 2, T), channel 0 attended.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

OWN_NAME = 0  # word index of the listener's own name in the dictionary


@dataclass(frozen=True)
class SelectionTheory:
    """One theory of selection as two numbers: the gain the filter leaves on the unattended ear, and
    whether selection happens after recognition (by importance) instead of before it."""
    name: str
    gain: float         # g: gain of the unattended channel before recognition
    late: bool = False  # select after recognition, by importance (Deutsch & Deutsch)


THEORIES = (SelectionTheory("filter (Broadbent)", 0.0), SelectionTheory("attenuation (Treisman)", 0.25),
            SelectionTheory("late selection (Deutsch & Deutsch)", 1.0, late=True))


def dictionary(size: int = 50, word_threshold: float = 0.5, name_threshold: float = 0.28,
               name_importance: float = 2.0, device="cpu"):
    """Thresholds θ (size,) and intrinsic importance w (size,): the own name is word 0."""
    thresholds = torch.full((size,), word_threshold, device=device)
    importance = torch.zeros(size, device=device)
    thresholds[OWN_NAME], importance[OWN_NAME] = name_threshold, name_importance
    return thresholds, importance


def make_streams(trials: int, length: int, vocabulary: int, generator: torch.Generator):
    """Word streams (N, 2, T) on the CPU: ordinary words on both ears, and the own name once per
    trial, at a random time, in the unattended ear (channel 1)."""
    words = torch.randint(1, vocabulary, (trials, 2, length), generator=generator)
    when = torch.randint(0, length, (trials,), generator=generator)
    words[torch.arange(trials), 1, when] = OWN_NAME
    return words


def recognise(words, gains, thresholds, noise):
    """words (N, 2, T), gains (2,), thresholds (V,), noise ε (N, 2, T) → recognised (N, 2, T) bool."""
    evidence = gains[None, :, None] * (1 + noise)        # e_ct = g_c (1 + ε_ct)
    return evidence > thresholds[words]                  # the word's unit fires above θ_w


def select(words, recognised, importance, task, late: bool):
    """Which recognised words reach awareness (N, 2, T). task (2,): importance of each channel
    for the current task; late selection keeps only the most important recognised word per step."""
    if not late:
        return recognised
    level = torch.where(recognised, task[None, :, None] + importance[words], -math.inf)  # I_ct
    reference = level.max(dim=1, keepdim=True).values    # rises to the most important signal
    return recognised & (level == reference)


def listen(theory: SelectionTheory, words, noise, thresholds, importance, task_importance: float = 1.0):
    """Run one theory on the streams; everything on the device of `thresholds`."""
    device = thresholds.device
    gains = torch.tensor([1.0, theory.gain], device=device)
    task = torch.tensor([task_importance, 0.0], device=device)
    words, noise = words.to(device), noise.to(device)
    return select(words, recognise(words, gains, thresholds, noise), importance, task, theory.late)


def rates(words, aware) -> dict:
    """Detection rates: attended words shadowed, unattended own name noticed (per trial), other
    unattended words that got through (per presentation)."""
    words = words.to(aware.device)
    name = words[:, 1] == OWN_NAME
    return {"shadowed": aware[:, 0].float().mean().item(),
            "own name": aware[:, 1][name].float().mean().item(),
            "other words": aware[:, 1][~name].float().mean().item()}


def expected_recognition(gain: float, threshold: float, noise_sd: float) -> float:
    """P(g (1 + ε) > θ) = 1 − Φ((θ/g − 1)/σ); zero when the channel is cut off (g = 0, θ > 0)."""
    if gain == 0:
        return 0.0
    return 0.5 * math.erfc((threshold / gain - 1) / noise_sd / math.sqrt(2))


def demo(device: torch.device | str = "cpu", seed: int = 0, trials: int = 2000, noise_sd: float = 0.3) -> dict:
    """Shadow the attended ear for 10 words per trial while the own name arrives once in the other
    ear; compare the three theories on the same streams and the same noise."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    thresholds, importance = dictionary(device=device)
    words = make_streams(trials, 10, len(thresholds), generator)
    noise = noise_sd * torch.randn(words.shape, generator=generator)  # same draws for every theory
    table = {}
    print(f"{trials} trials of 10 word pairs; θ_word = 0.5, θ_name = 0.28, σ = {noise_sd}")
    print(f"{'theory':>36} {'g':>5} {'shadowed':>9} {'own name':>9} {'other words':>12}")
    for theory in THEORIES:
        table[theory.name] = rates(words, listen(theory, words, noise, thresholds, importance))
        r = table[theory.name]
        print(f"{theory.name:>36} {theory.gain:5.2f} {r['shadowed']:9.3f} {r['own name']:9.3f} {r['other words']:12.4f}")
    g = THEORIES[1].gain
    closed = {"own name": expected_recognition(g, 0.28, noise_sd), "other words": expected_recognition(g, 0.5, noise_sd)}
    error = max(abs(table[THEORIES[1].name][k] - v) for k, v in closed.items())
    print(f"attenuation, closed form 1 − Φ((θ/g − 1)/σ): own name {closed['own name']:.3f}, "
          f"other words {closed['other words']:.4f}; max |simulated − closed| = {error:.3f} (tolerance 0.04)")
    return {"rates": table, "names": [t.name for t in THEORIES], "gains": [t.gain for t in THEORIES],
            "closed_form": closed, "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
