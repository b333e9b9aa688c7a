"""Feature and conjunction search under feature-integration theory (Treisman & Gelade; bib: treisman1980feature).

A display puts n items on random cells of a G × G grid. Each item has a colour (red, green)
and an orientation (vertical, horizontal). Stage one registers every feature value in its own
map over the whole grid, all at once:

    map_v(cell) = 1 if the item in that cell has feature value v, else 0

Feature search (target: the only red item, among green ones) is decided by stage one alone:
present ⇔ any(map_red). Its time does not depend on n. Conjunction search (target: red AND vertical,
among green verticals and red horizontals) cannot be decided from any single map. A spotlight
visits the occupied cells one at a time in random order, binds the features found there, and
stops at the target (self-terminating) or after the last item. Examined items k:

    present: k uniform on {1, …, n},  E[k] = (n + 1)/2        absent: k = n

    RT = base + item_time · k + noise      (k = 0 for feature search)

so the present slope is item_time / 2 and the absent slope item_time, a ratio of 2.

Differences from the paper:
- The model (parallel feature maps and a serial self-terminating spotlight) is a standard
  formalisation of the theory, not a model stated in the paper, which is verbal.
- It reproduces the qualitative shape of the results (flat feature search, linear conjunction search
  with a 2:1 absent-to-present slope ratio) with illustrative timing parameters, not fitted to
  Treisman and Gelade's data.

Shapes: M trials, F = 4 feature maps, G² cells.
"""
from __future__ import annotations

import torch

FEATURES = ("red", "green", "vertical", "horizontal")  # one map per feature value
RED, GREEN, VERTICAL, HORIZONTAL = range(4)
TARGET, DISTRACTORS = (RED, VERTICAL), {"feature": [(GREEN, VERTICAL), (GREEN, HORIZONTAL)],
                                        "conjunction": [(GREEN, VERTICAL), (RED, HORIZONTAL)]}


def make_displays(kind: str, size: int, present: bool, trials: int, grid: int = 6,
                  generator: torch.Generator | None = None):
    """Feature maps (M, F, G²) on the CPU: n items on random cells, distractors of the kind's two types
    drawn at random, and the red vertical target in the first cell used when present."""
    cells = torch.rand(trials, grid * grid, generator=generator).argsort(-1)[:, :size]   # n distinct cells
    types = torch.randint(0, 2, (trials, size), generator=generator)
    colour = torch.tensor([d[0] for d in DISTRACTORS[kind]])[types]
    orientation = torch.tensor([d[1] for d in DISTRACTORS[kind]])[types]
    if present:
        colour[:, 0], orientation[:, 0] = TARGET
    maps = torch.zeros(trials, len(FEATURES), grid * grid)
    rows = torch.arange(trials)[:, None]
    maps[rows, colour, cells] = 1
    maps[rows, orientation, cells] = 1
    return maps


def parallel_search(maps, feature: int):
    """Stage one: is anything active in the map of the target's unique feature? (M,) bool."""
    return maps[:, feature].amax(-1) > 0


def serial_search(maps, order, conjunction=TARGET):
    """Stage two. order (M, G²): the spotlight's visiting priority over cells (lower = sooner; empty
    cells are skipped). Returns found (M,) and the number of items examined (M,)."""
    occupied = maps[:, RED] + maps[:, GREEN] > 0
    visits = torch.where(occupied, order.to(maps.dtype), torch.inf).argsort(-1)          # occupied cells first
    binds = (maps[:, conjunction[0]] * maps[:, conjunction[1]] > 0).gather(1, visits)    # features bound per visit
    binds &= occupied.gather(1, visits)
    found = binds.any(-1)
    examined = torch.where(found, binds.to(torch.uint8).argmax(-1) + 1, occupied.sum(-1))
    return found, examined


def naive_serial_search(maps, order, conjunction=TARGET):
    """The spotlight as a loop: visit occupied cells by priority until the features bind."""
    found, examined = [], []
    for m in range(maps.shape[0]):
        cells = sorted((c for c in range(maps.shape[-1]) if maps[m, RED, c] + maps[m, GREEN, c] > 0),
                       key=lambda c: order[m, c].item())
        k = next((i + 1 for i, c in enumerate(cells)
                  if maps[m, conjunction[0], c] > 0 and maps[m, conjunction[1], c] > 0), None)
        found.append(k is not None)
        examined.append(k if k is not None else len(cells))
    return torch.tensor(found), torch.tensor(examined)


def search_times(kind: str, size: int, present: bool, trials: int, base: float = 0.45, item_time: float = 0.05,
                 noise: float = 0.06, generator: torch.Generator | None = None, device="cpu"):
    """Simulated RTs (M,) in seconds, the answers (M,) and the items examined (M,)."""
    maps = make_displays(kind, size, present, trials, generator=generator).to(device)
    jitter = noise * torch.randn(trials, generator=generator).to(device)
    if kind == "feature":
        answer, examined = parallel_search(maps, RED), torch.zeros(trials, dtype=torch.long, device=device)
    else:
        order = torch.rand(maps.shape[0], maps.shape[-1], generator=generator).to(device)
        answer, examined = serial_search(maps, order)
    return base + item_time * examined + jitter, answer, examined


def fit_line(sizes, times):
    """Least-squares slope and intercept of times (S,) against display sizes (S,)."""
    design = torch.stack([sizes, torch.ones_like(sizes)], -1)
    slope, intercept = torch.linalg.lstsq(design, times[:, None]).solution[:, 0]
    return slope.item(), intercept.item()


def demo(device: torch.device | str = "cpu", seed: int = 0, trials: int = 500) -> dict:
    """RT against display size for feature and conjunction search, target present and absent."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    sizes = [1, 5, 15, 30]
    means, slopes, errors = {}, {}, 0
    print(f"{trials} trials per point; mean RT (ms) and mean items examined")
    print(f"{'condition':>20} " + " ".join(f"{'n = ' + str(n):>14}" for n in sizes) + f" {'slope (ms/item)':>16}")
    for kind in ("feature", "conjunction"):
        for present in (True, False):
            rts, examined = [], []
            for n in sizes:
                rt, answer, k = search_times(kind, n, present, trials, generator=generator, device=device)
                errors += int((answer != present).sum())
                rts.append(rt.mean().item())
                examined.append(k.float().mean().item())
            label = f"{kind} {'present' if present else 'absent'}"
            means[label] = rts
            slopes[label] = fit_line(torch.tensor(sizes, dtype=torch.float64), torch.tensor(rts, dtype=torch.float64))[0]
            print(f"{label:>20} " + " ".join(f"{1000 * r:7.0f} ({e:4.1f})" for r, e in zip(rts, examined))
                  + f" {1000 * slopes[label]:16.1f}")
    ratio = slopes["conjunction absent"] / slopes["conjunction present"]
    print(f"conjunction absent/present slope ratio {ratio:.2f} (self-terminating search: 2); wrong answers: {errors}")
    print("expected items examined when present, (n + 1)/2: " + ", ".join(f"{(n + 1) / 2:g}" for n in sizes))
    return {"sizes": sizes, "mean_rt": means, "slopes": slopes, "ratio": ratio, "errors": errors}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
