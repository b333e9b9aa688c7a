"""Spatial cueing with a moving spotlight (Posner; bib: posner1980orienting).

Two target boxes sit at x = −1 and x = +1 either side of fixation (x = 0). A cue places the
spotlight's centre f before the target appears: on the cued box (valid or invalid trials) or at
fixation between the boxes (neutral). The spotlight multiplies the quality of the input by a
gain that falls off with distance from its centre,

    gain(x; f) = g_low + (g_high − g_low) · exp(−(x − f)² / (2 w²)).

When the target appears at x* the spotlight moves onto it, which takes
T_shift = latency + |x* − f| / speed (no time and no move when it is already there). Detection
is a noisy accumulator that rises to a threshold a:

    dX = μ · gain(x*; f(t)) dt + σ dW,    RT = t_0 + first time X ≥ a

with f(t) = f before T_shift and x* after it. Without noise (σ = 0) the decision time is closed form:
a / v_0 if a ≤ v_0 T_shift, else T_shift + (a − v_0 T_shift) / v_1, where v_0 = μ gain(x*; f) and
v_1 = μ g_high. With noise and no shift the mean first-passage time is a / v_1.

Differences from the paper:
- The model (a spotlight gain in front of a noisy accumulator to a threshold) is our formalisation;
  Posner describes the effect verbally.
- It reproduces the qualitative shape of the cueing effect (valid faster than neutral, neutral
  faster than invalid) with illustrative parameters, not fitted to Posner's data.

Shapes: M trials, K time steps of length dt (Euler–Maruyama).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Observer:
    """The observer's parameters: the accumulator's drift, threshold and noise, the time outside the
    decision, and the spotlight's gain at and away from its focus."""
    drift: float = 5.0         # μ: evidence per second at gain 1
    threshold: float = 1.0     # a
    noise: float = 1.0         # σ (evidence per √s)
    non_decision: float = 0.2  # t_0: encoding and response time, seconds
    low: float = 0.5           # gain far from the spotlight
    high: float = 1.5          # gain at its centre
    width: float = 1.0         # w
    latency: float = 0.05      # time to start a shift, seconds
    speed: float = 20.0        # how fast the spotlight moves, units of x per second
    dt: float = 0.001
    horizon: float = 1.0       # longest decision time simulated, seconds


CONDITIONS = {"valid": (1.0, 1.0), "neutral": (0.0, 1.0), "invalid": (-1.0, 1.0)}  # (spotlight f, target x*)


def spotlight_gain(x, focus, observer: Observer):
    """gain(x; f) = g_low + (g_high − g_low) exp(−(x − f)²/(2w²)); works on floats and tensors."""
    exp = torch.exp if torch.is_tensor(x) or torch.is_tensor(focus) else math.exp
    return observer.low + (observer.high - observer.low) * exp(-(x - focus) ** 2 / (2 * observer.width ** 2))


def shift_time(focus: float, target: float, observer: Observer) -> float:
    """Time for the spotlight to reach the target: latency + distance / speed, zero if it is there."""
    distance = abs(target - focus)
    return 0.0 if distance == 0 else observer.latency + distance / observer.speed


def drift_profile(focus: float, target: float, observer: Observer, device="cpu"):
    """μ · gain at the target for each time step (K,): the spotlight's own gain until it arrives."""
    steps = round(observer.horizon / observer.dt)
    t = torch.arange(steps, device=device) * observer.dt               # start of each step
    before = observer.drift * spotlight_gain(target, focus, observer)
    return torch.where(t < shift_time(focus, target, observer) - 1e-12, before, observer.drift * observer.high)


def reaction_times(focus: float, target: float, trials: int, observer: Observer = Observer(),
                   generator: torch.Generator | None = None, device="cpu"):
    """Simulated RTs (M,), seconds, and whether each trial reached threshold within the horizon."""
    drift = drift_profile(focus, target, observer, device)
    noise = torch.randn(trials, drift.numel(), generator=generator).to(device)
    evidence = torch.cumsum(drift * observer.dt + observer.noise * math.sqrt(observer.dt) * noise, dim=1)
    crossed = evidence >= observer.threshold
    first = crossed.to(torch.uint8).argmax(dim=1)                     # first step at or above a
    return observer.non_decision + (first + 1) * observer.dt, crossed.any(dim=1)


def noiseless_rt(focus: float, target: float, observer: Observer = Observer()) -> float:
    """The closed form for σ = 0: rise at v_0 until the spotlight arrives, then at v_1."""
    v0 = observer.drift * spotlight_gain(target, focus, observer)
    v1, shift, a = observer.drift * observer.high, shift_time(focus, target, observer), observer.threshold
    decision = a / v0 if a <= v0 * shift else shift + (a - v0 * shift) / v1
    return observer.non_decision + decision


def demo(device: torch.device | str = "cpu", seed: int = 0, trials: int = 2000) -> dict:
    """Valid, neutral and invalid cues, 2000 trials each: mean RT, and the closed-form noiseless RT."""
    torch.manual_seed(seed)
    generator, observer = torch.Generator().manual_seed(seed), Observer()
    means, errors, missed = {}, {}, 0
    print(f"{trials} trials per condition; RT = t_0 + first passage of the accumulator (dt = {observer.dt * 1000:g} ms)")
    print(f"{'cue':>8} {'spotlight gain':>15} {'shift (ms)':>11} {'mean RT (ms)':>13} {'± s.e.':>7} {'σ = 0 (ms)':>11}")
    for name, (focus, target) in CONDITIONS.items():
        rts, reached = reaction_times(focus, target, trials, observer, generator, device)
        missed += int((~reached).sum())
        means[name], errors[name] = rts.mean().item(), (rts.std() / math.sqrt(trials)).item()
        print(f"{name:>8} {spotlight_gain(target, focus, observer):15.3f} {1000 * shift_time(focus, target, observer):11.0f}"
              f" {1000 * means[name]:13.1f} {1000 * errors[name]:7.1f} {1000 * noiseless_rt(focus, target, observer):11.1f}")
    print(f"benefit (neutral − valid) {1000 * (means['neutral'] - means['valid']):.0f} ms, "
          f"cost (invalid − neutral) {1000 * (means['invalid'] - means['neutral']):.0f} ms; "
          f"trials that never reached threshold: {missed}")
    wald = observer.non_decision + observer.threshold / (observer.drift * observer.high)
    print(f"valid trials against the mean first-passage time t_0 + a/v: {1000 * wald:.1f} ms")
    return {"conditions": list(CONDITIONS), "mean_rt": means, "stderr": errors, "missed": missed, "wald_valid": wald}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
