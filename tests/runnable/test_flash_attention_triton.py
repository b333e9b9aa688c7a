"""FlashAttention-2's Triton kernels against naive attention and torch's SDPA: the output, the
logsumexp and the gradients dQ, dK, dV; causal and not; head sizes 64 and 128; lengths that are
not multiples of the tiles, L_q ≠ L_k both ways. On CPU the kernels run in Triton's interpreter
in float32; on CUDA they run compiled, in float16 and bfloat16.

Triton settles whether it interprets when triton.language is first imported, so one process
cannot do both. A process that compiles (a CUDA machine) runs the CPU cases in a second pytest
process with TRITON_INTERPRET=1; a process that interprets skips the CUDA cases, or fails them
under REQUIRE_GPU=1."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from runnable.flash_attention import naive_attention
from runnable.flash_attention_triton import INTERPRETED, demo, flash_attention
from tests.conftest import ROOT, _devices
from tests.runnable.probes import LargestCreated

# float32 in the interpreter against a float64 reference: sums of at most 128 products of
# unit-scale numbers, outputs and gradients of at most about 6, measured errors ≤ 2e-6.
FLOAT32 = dict(atol=1e-5, rtol=1e-5)
EXACT = dict(atol=1e-10, rtol=1e-10)   # the two float64 references agree to rounding
SHAPES = [  # (L_q, L_k, B_r, B_c): ragged in both, aligned (no key mask compiled in), L_q > L_k ragged in keys
    (100, 100, 32, 32), (64, 128, 16, 32), (128, 50, 32, 16)]
CUDA_ONLY = _devices()[1:]  # the conftest's cuda parameter, with its skip and its REQUIRE_GPU failure


@pytest.fixture
def kernel_device(device):
    """The device, if this process can run the kernels there (see the module's docstring)."""
    if device.type == "cpu" and not INTERPRETED:
        pytest.skip("this process compiles Triton kernels; test_cpu_cases_in_an_interpreting_process runs these")
    if device.type == "cuda" and INTERPRETED:
        if os.environ.get("REQUIRE_GPU") == "1":
            pytest.fail("REQUIRE_GPU=1, but this process runs Triton in its interpreter (TRITON_INTERPRET=1)")
        pytest.skip("this process runs Triton in its interpreter; the CUDA cases need one that compiles")
    return device


def sdpa(q, k, v, causal=False, scale=None):
    # torch's own math kernel: exact in float64, and available for every dtype and device.
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)


def problem(L_q, L_k, head_dim, device, dtype, seed=0, batch=1, heads=2):
    generator = torch.Generator().manual_seed(seed)
    q, k, v, d_out = (torch.randn(batch, heads, n, head_dim, generator=generator).to(device, dtype)
                      for n in (L_q, L_k, L_k, L_q))
    return q, k, v, d_out


def forward_backward(attention, q, k, v, d_out, **options):
    """(O, dQ, dK, dV) of attention(q, k, v) for the upstream gradient d_out."""
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    out = attention(q, k, v, **options)
    return (out, *torch.autograd.grad(out, (q, k, v), d_out))


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("head_dim", [64, 128])
@pytest.mark.parametrize("L_q, L_k, block_r, block_c", SHAPES)
def test_output_and_gradients_match_naive_attention_and_sdpa(kernel_device, L_q, L_k, block_r, block_c, head_dim, causal):
    device = kernel_device
    q, k, v, d_out = problem(L_q, L_k, head_dim, device, torch.float64)
    exact = forward_backward(sdpa, q, k, v, d_out, causal=causal)
    for naive, reference in zip(forward_backward(naive_attention, q, k, v, d_out, causal=causal), exact):
        torch.testing.assert_close(naive, reference, **EXACT)
    if device.type == "cpu":
        found = forward_backward(flash_attention, *(t.float() for t in (q, k, v, d_out)), causal=causal,
                                 block_r=block_r, block_c=block_c)
        for name, ours, reference in zip(("O", "dQ", "dK", "dV"), found, exact):
            torch.testing.assert_close(ours.double(), reference, **FLOAT32, msg=lambda m, name=name: f"{name}: {m}")
        return
    for dtype in (torch.float16, torch.bfloat16):  # CUDA: the kernels' own precisions
        low = [t.to(dtype) for t in (q, k, v, d_out)]
        found = forward_backward(flash_attention, *low, causal=causal, block_r=block_r, block_c=block_c)
        assert_as_close_as_torch(found, forward_backward(naive_attention, *low, causal=causal), exact, dtype)


def assert_as_close_as_torch(found, torch_same_precision, exact, dtype):
    """Half precision: each of O, dQ, dK, dV is at most twice as far from the float32/64 truth as
    PyTorch's own attention in the same precision, plus one unit in the last place at 1 (2⁻¹⁰ for
    float16, 2⁻⁷ for bfloat16) so that a lucky reference cannot make the bound zero."""
    ulp = torch.finfo(dtype).eps
    for name, ours, theirs, truth in zip(("O", "dQ", "dK", "dV"), found, torch_same_precision, exact):
        ours_error = (ours.double() - truth.double()).abs().max().item()
        torch_error = (theirs.double() - truth.double()).abs().max().item()
        assert ours_error <= 2 * torch_error + ulp, f"{name} ({dtype}): error {ours_error:.2e}, torch's {torch_error:.2e}"


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_logsumexp_is_torch_logsumexp_of_the_scaled_scores(kernel_device, causal):
    dtype = torch.float32 if kernel_device.type == "cpu" else torch.float16
    q, k, v, _ = problem(77, 90, 64, kernel_device, dtype, seed=1)
    out, lse = flash_attention(q, k, v, causal, scale=0.3, block_r=32, block_c=16, return_logsumexp=True)
    scores = 0.3 * q.double() @ k.double().transpose(-2, -1)
    if causal:
        scores = scores.masked_fill(torch.ones(77, 90, dtype=torch.bool, device=kernel_device).triu(1), float("-inf"))
    assert lse.dtype == torch.float32 and lse.shape == (1, 2, 77)
    # L ≈ 5, from the same (rounded) inputs: float32 to a few units in its last place; on CUDA the
    # hardware's approximate exp2 and log2 add a little, far below 1e-3.
    torch.testing.assert_close(lse.double(), torch.logsumexp(scores, -1),
                               **(FLOAT32 if dtype == torch.float32 else dict(atol=1e-3, rtol=0)))


def test_the_comparison_can_fail(kernel_device):
    """Negative control: the causal kernel against the unmasked reference, and a wrong scale,
    are far outside the tolerance the tests above use."""
    dtype = torch.float32 if kernel_device.type == "cpu" else torch.float16
    q, k, v, _ = problem(64, 64, 64, kernel_device, dtype, seed=2)
    reference = sdpa(*(t.double() for t in (q, k, v)))
    assert (flash_attention(q, k, v, causal=True, block_r=32, block_c=32).double() - reference).abs().max() > 0.1
    assert (flash_attention(q, k, v, scale=0.2, block_r=32, block_c=32).double() - reference).abs().max() > 0.01


def test_no_torch_tensor_grows_like_the_scores(kernel_device):
    """Forward and backward create no tensor larger than one input (B·H·L·d numbers) in torch:
    scores and weights live only in the kernels' tiles. Naive attention's autograd creates
    B·H·L_q·L_k. Counted in bytes: the interpreter copies its arguments as byte tensors."""
    dtype = torch.float32 if kernel_device.type == "cpu" else torch.float16
    q, k, v, d_out = problem(256, 256, 16, kernel_device, dtype, seed=3, heads=1)
    with LargestCreated() as fused:
        forward_backward(flash_attention, q, k, v, d_out, causal=True, block_r=64, block_c=64)
    with LargestCreated() as naive:
        forward_backward(naive_attention, q, k, v, d_out, causal=True)
    assert fused.largest_bytes <= q.nbytes and naive.largest_bytes >= 256 * 256 * q.element_size()


def test_bad_input_is_reported_all_at_once():
    q = torch.randn(1, 2, 8, 24)
    with pytest.raises(ValueError) as raised:
        flash_attention(q, torch.randn(1, 3, 8, 24), torch.randn(1, 3, 8, 24, dtype=torch.float64), block_c=20)
    message = str(raised.value)
    assert "(B, H) for all three" in message and "float64" in message and "block_c = 20" in message
    with pytest.raises(ValueError, match="head size 24"):
        flash_attention(q, q, q)


def test_demo_runs_and_agrees(kernel_device):
    result = demo(kernel_device)
    bound = 1e-5 if kernel_device.type == "cpu" else 5e-2  # float32; float16 (a sanity bound: the tests above are the precise ones)
    for case, errors in result["errors"].items():
        assert max(errors.values()) < bound, (case, errors)


@pytest.mark.parametrize("device", CUDA_ONLY, indirect=True)
@pytest.mark.parametrize("head_dim", [64, 128])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_long_ragged_sequences_with_the_default_tiles_on_cuda(kernel_device, dtype, head_dim):
    """The tiles the benchmark uses (128 × 64 forward, 64 × 64 backward), on 1,000 queries and 1,100 keys."""
    q, k, v, d_out = problem(1000, 1100, head_dim, kernel_device, torch.float32, seed=4, batch=2, heads=4)
    for causal in (False, True):
        exact = forward_backward(sdpa, q, k, v, d_out, causal=causal)
        low = [t.to(dtype) for t in (q, k, v, d_out)]
        found = forward_backward(flash_attention, *low, causal=causal)
        assert_as_close_as_torch(found, forward_backward(naive_attention, *low, causal=causal), exact, dtype)


@pytest.mark.parametrize("device", CUDA_ONLY, indirect=True)
def test_memory_is_linear_in_length_on_cuda(kernel_device):
    """The allocator's peak above the inputs for one forward call: 4× the length, at most 4× the
    memory (with a quarter's slack for the allocator's rounding); naive attention's is 16×."""
    extra = {}
    for length in (2048, 8192):
        q, k, v, _ = problem(length, length, 64, kernel_device, torch.float16, heads=8)
        for name, attention in (("fused", flash_attention), ("naive", naive_attention)):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            with torch.no_grad():
                attention(q, k, v)
            torch.cuda.synchronize()
            extra[name, length] = torch.cuda.max_memory_allocated() - before
    assert extra["fused", 8192] <= 4 * 1.25 * extra["fused", 2048]
    assert extra["naive", 8192] >= 12 * extra["naive", 2048] and extra["fused", 8192] * 50 < extra["naive", 8192]


@pytest.mark.skipif(INTERPRETED, reason="this process runs the CPU cases itself, in Triton's interpreter")
def test_cpu_cases_in_an_interpreting_process():
    """Where this process compiles (CUDA), the interpreter's cases run in a second process."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-k", "cpu and not interpreting_process", "-p", "no:cacheprovider"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " skipped" not in run.stdout.splitlines()[-1], run.stdout[-2000:]
