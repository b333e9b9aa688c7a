"""The cost of attention: time and peak memory against sequence length for naive, tiled (online
softmax), linear and PyTorch's fused attention, and our multi-head attention against PyTorch's.
On CUDA also, in float16, our FlashAttention-2 Triton kernel against PyTorch's FlashAttention
backend (on CPU the kernel runs in Triton's interpreter, whose time says nothing: it is skipped).

    python -m scripts.bench_attention                 # CPU, 256 … 16,384 tokens
    python -m scripts.bench_attention --device cuda   # the same on a GPU

Writes docs/mechanisms/results/attention-cost-<device>.csv (one row per method and length, with
the device's name), which the "Cost of attention" page plots, and prints the figures and the
targets. A benchmark, not a test: the machines are noisy, so every time is the median of at least
five calls (about a second's worth), and ratios are taken within one run.

Peak memory is the extra memory one call needs above its inputs. On CUDA it is read from the
caching allocator (max_memory_allocated). On CPU there is no such counter, so each (method,
length) runs in a fresh subprocess and reports the growth of its peak resident set size.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from runnable.flash_attention import naive_attention, tiled_attention
from runnable.linear_attention import linear_attention
from runnable.multi_head_attention import MultiHeadAttention, load_from_torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "mechanisms" / "results"
LENGTHS = (256, 512, 1024, 2048, 4096, 8192, 16384)
HEAD_DIM = 64
BLOCK = 512  # tiles of 512 queries × 512 keys: small enough to bound memory, large enough to keep Python overhead low

METHODS = {
    "naive": lambda q, k, v: naive_attention(q, k, v),
    "tiled": lambda q, k, v: tiled_attention(q, k, v, block_q=BLOCK, block_k=BLOCK),
    "linear": lambda q, k, v: linear_attention(q, k, v),
    "sdpa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
}


def _triton_flash(q, k, v):
    # Imported on first use: importing the module on a machine without CUDA switches triton to
    # its interpreter, which the CPU benchmark has no use for.
    from runnable.flash_attention_triton import flash_attention

    return flash_attention(q, k, v)


def _sdpa_flash(q, k, v):
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.FLASH_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v)


# CUDA only, in float16 (FlashAttention kernels take half precision): the fused kernels compared.
FUSED_METHODS = {"triton-fp16": _triton_flash, "sdpa-flash-fp16": _sdpa_flash}
FUSED_TARGET = 1.5  # triton-fp16 time ÷ sdpa-flash-fp16 time, 4,096 to 16,384 tokens, on an H100/H200


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor() or "CPU")
    return f"{model} ({torch.get_num_threads()} threads)"


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(length: int, heads: int, device: torch.device, dtype: torch.dtype = torch.float32):
    generator = torch.Generator().manual_seed(length)
    return [torch.randn(1, heads, length, HEAD_DIM, generator=generator).to(device, dtype) for _ in range(3)]


def _repeats(first_call_seconds: float) -> int:
    """Enough calls for about a second of timing (a single preemption then moves the median
    little), at least 5 and at most 101."""
    return max(5, min(101, int(1.0 / max(first_call_seconds, 1e-6))))


@torch.no_grad()
def measure(method: str, length: int, heads: int, device: torch.device) -> dict:
    """Median seconds per call, and the peak extra bytes of the first call."""
    run = METHODS[method] if method in METHODS else FUSED_METHODS[method]
    dtype = torch.float16 if method in FUSED_METHODS else torch.float32
    run(*_inputs(64, heads, device, dtype))  # one-time costs (lazy kernel set-up, Triton's compilation) are not the method's
    q, k, v = _inputs(length, heads, device, dtype)
    _synchronize(device)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    start = time.perf_counter()
    run(q, k, v)
    _synchronize(device)
    first = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated(device) if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) - base
    times = []
    for _ in range(_repeats(first)):
        _synchronize(device)
        start = time.perf_counter()
        run(q, k, v)
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return {"seconds": statistics.median(times), "peak_bytes": peak}


def measure_isolated(method: str, length: int, heads: int, device: torch.device) -> dict:
    """On CPU, one fresh process per measurement, so that one method's peak does not hide the next's."""
    if device.type == "cuda":
        return measure(method, length, heads, device)
    command = [sys.executable, "-m", "scripts.bench_attention", "--worker", method, str(length), str(heads)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@torch.no_grad()
def multi_head_ratio(device: torch.device, d_model: int = 512, heads: int = 8, length: int = 1024, repeats: int = 21) -> dict:
    """Forward time of our MultiHeadAttention against torch.nn.MultiheadAttention with the same weights,
    interleaved so that all see the same machine noise. Ours returns every head's weights, so the
    like-for-like comparison is torch asked for them too; torch's fused path (no weights) is timed as well."""
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(d_model, heads, batch_first=True).to(device).eval()
    ours = MultiHeadAttention(d_model, heads).to(device).eval()
    load_from_torch(ours, theirs)
    x = torch.randn(1, length, d_model, device=device)
    calls = {"ours": lambda: ours(x, x, x),
             "torch": lambda: theirs(x, x, x, need_weights=True, average_attn_weights=False),
             "torch-fused": lambda: theirs(x, x, x, need_weights=False)}
    timings = {name: [] for name in calls}
    for _ in range(3):
        for call in calls.values():
            call()
    for _ in range(repeats):
        for name, call in calls.items():
            _synchronize(device)
            start = time.perf_counter()
            call()
            _synchronize(device)
            timings[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in timings.items()}
    return {**medians, "ratio": medians["ours"] / medians["torch"], "ratio_fused": medians["ours"] / medians["torch-fused"]}


def _fit_exponent(rows: list[dict], method: str, low: int, high: int) -> float:
    """The slope of log(time) against log(length) between two lengths: 1 is linear, 2 quadratic."""
    t = {r["length"]: r["seconds"] for r in rows if r["method"] == method}
    return math.log(t[high] / t[low]) / math.log(high / low)


def report_fused(rows: list[dict]) -> None:
    """The Triton kernel against torch's FlashAttention backend: time ratio from 4,096 tokens up
    (target ≤ 1.5) and how its peak memory grows (1 is linear)."""
    seconds = {(r["method"], r["length"]): r["seconds"] for r in rows}
    lengths = sorted(n for method, n in seconds if method == "triton-fp16")
    if not lengths:
        return
    for n in [n for n in lengths if n >= 4096]:
        ratio = seconds["triton-fp16", n] / seconds["sdpa-flash-fp16", n]
        print(f"Triton FlashAttention-2 ÷ torch's flash backend, float16, {n:,} tokens: {ratio:.2f} "
              f"(target ≤ {FUSED_TARGET}: {'met' if ratio <= FUSED_TARGET else 'MISSED'})")
    peaks = {r["length"]: r["peak_bytes"] for r in rows if r["method"] == "triton-fp16"}
    low, high = max(lengths[0], 1024), lengths[-1]
    if high > low and peaks[low] > 0:
        print(f"Triton FlashAttention-2 peak memory grows as length^{math.log(peaks[high] / peaks[low]) / math.log(high / low):.2f} "
              f"between {low:,} and {high:,} tokens (linear: 1)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-length", type=int, default=LENGTHS[-1])
    parser.add_argument("--heads", type=int, default=None, help="heads per call (default: 1 on CPU, 8 on CUDA)")
    parser.add_argument("--out", type=Path, default=None, help="CSV path (default: docs/mechanisms/results/attention-cost-<cpu|cuda>.csv)")
    parser.add_argument("--worker", nargs=3, metavar=("METHOD", "LENGTH", "HEADS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        method, length, heads = args.worker
        print(json.dumps(measure(method, int(length), int(heads), torch.device("cpu"))))
        return

    device = torch.device(args.device)
    heads = args.heads or (8 if device.type == "cuda" else 1)
    name = device_name(device)
    print(f"device: {name}; torch {torch.__version__}; batch 1, {heads} heads of size {HEAD_DIM}, float32, "
          f"tiles {BLOCK}×{BLOCK}")
    methods = [*METHODS, *FUSED_METHODS] if device.type == "cuda" else list(METHODS)
    if device.type != "cuda":
        print("the Triton kernel and torch's FlashAttention backend are timed on CUDA only "
              "(on CPU the kernel runs in Triton's interpreter, whose time measures NumPy, not the algorithm)")
    rows = []
    print(f"{'length':>7} " + " ".join(f"{m + ' ms':>11} {m + ' MiB':>11}" for m in methods))
    for length in [n for n in LENGTHS if n <= args.max_length]:
        cells = []
        for method in methods:
            result = measure_isolated(method, length, heads, device)
            rows.append({"device": name, "torch": torch.__version__, "heads": heads, "head_dim": HEAD_DIM,
                         "method": method, "length": length, **result})
            cells.append(f"{result['seconds'] * 1e3:11.2f} {result['peak_bytes'] / 2 ** 20:11.1f}")
        print(f"{length:>7} " + " ".join(cells), flush=True)

    mha = multi_head_ratio(device)
    rows += [{"device": name, "torch": torch.__version__, "heads": 8, "head_dim": 64, "method": f"mha-{who}",
              "length": 1024, "seconds": mha[who], "peak_bytes": ""} for who in ("ours", "torch", "torch-fused")]

    out = args.out or RESULTS / f"attention-cost-{device.type}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")

    peaks = {(r["method"], r["length"]): r["peak_bytes"] for r in rows}
    if ("tiled", 8192) in peaks and peaks[("naive", 8192)]:
        share = peaks[("tiled", 8192)] / peaks[("naive", 8192)]
        print(f"tiled peak memory at 8,192 tokens: {share:.3f} of naive's (target ≤ 0.125: {'met' if share <= 0.125 else 'MISSED'})")
    report_fused(rows)
    top = max(r["length"] for r in rows if r["method"] == "linear")
    if top >= 4096:
        for method in ("linear", "naive"):
            print(f"{method} time grows as length^{_fit_exponent(rows, method, 2048, top):.2f} between 2,048 and {top:,} tokens")
    print(f"multi-head attention, d=512, 8 heads, 1,024 tokens: ours {mha['ours'] * 1e3:.2f} ms, "
          f"torch {mha['torch'] * 1e3:.2f} ms, ratio {mha['ratio']:.2f} (target ≤ 1.5: {'met' if mha['ratio'] <= 1.5 else 'MISSED'}); "
          f"torch's fused path without weights {mha['torch-fused'] * 1e3:.2f} ms, ratio {mha['ratio_fused']:.2f}")


if __name__ == "__main__":
    main()
