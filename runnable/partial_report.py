"""Whole and partial report from a decaying iconic store (Sperling; bib: sperling1960information).

A 3 × 4 array of letters is flashed and switches off at t = 0. Its trace in the iconic store
fades exponentially, and a reader of limited capacity copies items out of it into a durable
store at a total rate r (items per second of full-strength trace), shared equally among the
items it is reading:

    a(t) = exp(−t / τ)                                   legibility of the trace at time t ≥ 0
    hazard of one item = r · a(t) / m                    m = number of items being read

Whole report: the reader reads all N = 12 items from t = 0. Partial report: a cue at delay d
names one row (C = 4 items); before the cue the reader reads all N, after it only the cued row.
Each item is copied at most once, at the first event of its hazard, so a cued item is copied
with probability 1 − exp(−Λ(d)), where

    Λ(d) = (rτ/N)(1 − e^{−d/τ}) + (rτ/C) e^{−d/τ}
    whole report        = N (1 − e^{−rτ/N})
    available (partial) = rows × reported in the cued row = N (1 − e^{−Λ(d)})

so the partial-report estimate starts at N(1 − e^{−rτ/C}) at d = 0 and falls to the whole-report
level as d grows. An optional durable-store capacity K keeps only the first K items copied
(then there is no closed form; the simulation handles it). Rows are exchangeable, so the
simulation always cues row 0.

Differences from the paper:
- The model (an exponentially fading trace read by a slow serial reader) is a common formalisation,
  not one stated by Sperling, whose account is verbal.
- It reproduces the qualitative shape of his results (partial report above whole report, falling
  with cue delay to the whole-report level within about a second) with illustrative parameters, not
  fitted to his data.

Shapes: D cue delays, M trials, N = rows · columns items (row-major).
"""
from __future__ import annotations

import math

import torch


def legibility(t, tau: float):
    """a(t) = exp(−t/τ): the fraction of the icon's strength left t seconds after the display."""
    return torch.exp(-t / tau)


def expected_whole_report(items: int, rate: float, tau: float) -> float:
    """N (1 − e^{−rτ/N}): each of N items gets hazard r a(t)/N for all t ≥ 0."""
    return items * (1 - math.exp(-rate * tau / items))


def expected_available(delay, rows: int = 3, columns: int = 4, rate: float = 20.0, tau: float = 0.3):
    """The partial-report estimate N (1 − e^{−Λ(d)}) for cue delays d (a tensor, seconds)."""
    items, faded = rows * columns, torch.exp(-delay / tau)
    hazard = rate * tau / items * (1 - faded) + rate * tau / columns * faded   # Λ(d)
    return items * (1 - torch.exp(-hazard))


def transfer_times(exposures, delay, rows: int, columns: int, rate: float, tau: float):
    """Time at which each item is copied out, inf if never. exposures E ~ Exp(1) (M, N), delay (D, 1, 1)
    → (D, M, N). An item is copied when its cumulative hazard reaches E (inverse of the piecewise form)."""
    items, rt = rows * columns, rate * tau
    faded = torch.exp(-delay / tau)
    before_cue = rt / items * (1 - faded)                                  # hazard collected before the cue
    early = -tau * torch.log1p(-exposures * items / rt)                   # solves (rτ/N)(1 − e^{−t/τ}) = E
    late = -tau * torch.log(faded - (exposures - before_cue) * columns / rt)  # after the cue, cued row only
    cued = torch.zeros(items, dtype=torch.bool, device=exposures.device)
    cued[:columns] = True
    inf = torch.tensor(math.inf, device=exposures.device)
    return torch.where(exposures < before_cue, early,
                       torch.where(cued & (exposures < before_cue + rt / columns * faded), late, inf))


def simulate(delays, trials: int = 4000, rows: int = 3, columns: int = 4, rate: float = 20.0, tau: float = 0.3,
             capacity: int | None = None, generator: torch.Generator | None = None):
    """Monte-Carlo whole report (M,) and partial-report estimates (D, M) on the device of `delays`,
    with the same exposures for every delay (common random numbers: a smoother curve)."""
    exposures = torch.empty(trials, rows * columns).exponential_(generator=generator).to(delays.device)
    keep = math.inf if capacity is None else capacity

    def copied(times):  # the first K items copied out reach the durable store
        rank = times.argsort(-1).argsort(-1)
        return torch.isfinite(times) & (rank < keep)

    no_cue = torch.full((1, 1, 1), math.inf, device=delays.device, dtype=delays.dtype)
    whole = copied(transfer_times(exposures, no_cue, rows, columns, rate, tau))[0].sum(-1).float()
    partial = copied(transfer_times(exposures, delays[:, None, None], rows, columns, rate, tau))
    return whole, rows * partial[..., :columns].sum(-1).float()


def demo(device: torch.device | str = "cpu", seed: int = 0, rate: float = 20.0, tau: float = 0.3) -> dict:
    """Partial report of a 3 × 4 array as the cue is delayed from 0 to 1 s, against whole report."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    delays = torch.tensor([0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0], device=device)
    whole, partial = simulate(delays, rate=rate, tau=tau, generator=generator)
    closed = expected_available(delays, rate=rate, tau=tau)
    whole_closed = expected_whole_report(12, rate, tau)
    print(f"icon τ = {tau} s, reading rate r = {rate} items/s (rτ = {rate * tau:g}); 4000 trials per point")
    print(f"whole report: {whole.mean():.2f} items (closed form {whole_closed:.2f}) of 12")
    print(" cue delay (s)   available (partial report)   closed form   advantage over whole report")
    for d, sim, c in zip(delays.tolist(), partial.mean(-1).tolist(), closed.tolist()):
        print(f"{d:14.2f} {sim:26.2f} {c:13.2f} {sim - whole.mean().item():+26.2f}")
    error = max((partial.mean(-1) - closed).abs().max().item(), abs(whole.mean().item() - whole_closed))
    print(f"max |simulated − closed form| = {error:.3f} items (tolerance 0.15)")
    return {"delays": delays.cpu(), "partial": partial.mean(-1).cpu(), "closed_form": closed.cpu(),
            "whole": whole.mean().item(), "whole_closed": whole_closed, "max_error": error}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
