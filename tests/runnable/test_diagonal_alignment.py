"""The fixed diagonal alignment against its closed form in exact fractions; reading with it is
indexing; a soft content-based alignment can follow a reordering that the diagonal cannot."""
from __future__ import annotations


import pytest
import torch

from runnable.diagonal_alignment import (demo, diagonal_alignment, diagonal_positions, naive_diagonal_alignment,
                                         read, soft_alignment)

TOLERANCE = dict(atol=1e-6, rtol=1e-6)  # 1/|W_i| from a softmax of zeros vs. a Python float
SIZES = [(1, 1), (1, 5), (5, 1), (4, 4), (3, 4), (4, 3), (9, 8), (8, 9), (7, 20), (20, 7), (11, 5)]


@pytest.mark.parametrize("window", [0, 1, 3])
def test_matches_the_closed_form_in_exact_fractions(device, window):
    for L, T in SIZES:
        got = diagonal_alignment(L, T, window, device=device)
        torch.testing.assert_close(got, naive_diagonal_alignment(L, T, window).to(device), **TOLERANCE,
                                   msg=f"L={L} T={T} w={window}")


def test_rounding_is_half_up():
    """L = 3, T = 4: output 1 sits at 1.5 and reads position 2 (torch.round would also give 2, but
    L = 3, T = 6 puts output 1 at 2.5, where round-half-to-even would give 2 and half-up gives 3)."""
    assert diagonal_positions(3, 4).tolist() == [0, 2, 3]
    assert diagonal_positions(3, 6).tolist() == [0, 3, 5]


@pytest.mark.parametrize("L,T", [(L, T) for L, T in SIZES if L > 1 or T == 1])
def test_window_zero_is_a_monotone_one_per_row_matrix(device, L, T):
    alignment = diagonal_alignment(L, T, device=device)
    positions = diagonal_positions(L, T, device)
    assert set(alignment.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(alignment.sum(-1) == 1)
    assert torch.equal(alignment.argmax(-1), positions)
    assert positions[0] == 0 and positions[-1] == T - 1        # the cursors start and end together
    steps = positions.diff()
    assert torch.all(steps >= 0)                               # monotone: never reads backwards
    if L <= T:
        assert torch.all(steps >= 1)                           # no source position read twice
    if L >= T:
        assert torch.all(alignment.sum(0) >= 1) and torch.all(steps <= 1)  # every position read, none skipped
    if L == T:
        assert torch.equal(alignment, torch.eye(T, device=device))


def test_windowed_rows_are_uniform_over_the_clipped_window(device):
    alignment = diagonal_alignment(6, 10, window=2, device=device)
    positions = diagonal_positions(6, 10)
    for i, p in enumerate(positions.tolist()):
        inside = [j for j in range(10) if abs(j - p) <= 2]
        expected = torch.zeros(10, device=device)
        expected[inside] = 1 / len(inside)
        torch.testing.assert_close(alignment[i], expected, **TOLERANCE)
    assert (alignment[0] > 0).sum() == 3 and (alignment[2] > 0).sum() == 5  # clipped at the edge


def test_reading_is_indexing_and_batches(device):
    torch.manual_seed(0)
    annotations = torch.randn(3, 7, 5, device=device)
    for L in [1, 4, 7, 12]:
        contexts = read(diagonal_alignment(L, 7, device=device), annotations)
        torch.testing.assert_close(contexts, annotations[:, diagonal_positions(L, 7, device)], **TOLERANCE)
    batched = read(diagonal_alignment(4, 7, window=1, device=device).expand(3, -1, -1), annotations)
    torch.testing.assert_close(batched, read(diagonal_alignment(4, 7, window=1, device=device), annotations))


def test_gradient_of_reading_is_the_column_sums(device):
    """Closed form: d(Σ_i Σ_m c_im)/dh_jm = Σ_i α_ij, so positions the cursor skips get no gradient."""
    annotations = torch.randn(2, 9, 3, device=device, requires_grad=True)
    alignment = diagonal_alignment(3, 9, window=1, device=device)   # reads 0-1, 3-5, 7-8
    read(alignment, annotations).sum().backward()
    torch.testing.assert_close(annotations.grad, alignment.sum(0)[None, :, None].expand(2, 9, 3), **TOLERANCE)
    assert annotations.grad[0, :, 0].eq(0).nonzero().flatten().tolist() == [2, 6]


def test_soft_alignment_matches_a_loop_and_can_reorder(device):
    torch.manual_seed(1)
    annotations = torch.linalg.qr(torch.randn(8, 5))[0].T[None].to(device)  # orthonormal h_j
    order = torch.tensor([4, 3, 2, 1, 0], device=device)                    # a full reversal
    soft = soft_alignment(annotations[:, order], annotations, sharpness=30.0)
    for i in range(5):
        scores = torch.stack([30.0 * annotations[0, order[i]] @ annotations[0, j] for j in range(5)])
        torch.testing.assert_close(soft[0, i], torch.softmax(scores, 0), **TOLERANCE)
    torch.testing.assert_close(read(soft, annotations), annotations[:, order], atol=1e-4, rtol=0)
    diagonal = read(diagonal_alignment(5, 5, device=device), annotations)
    assert (diagonal - annotations[:, order]).norm(dim=-1).gt(1).sum() == 4  # right only at the middle word


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-6
    needed = result["needed"]
    assert (result["diagonal"].argmax(-1) == needed).sum() == 6
    assert torch.equal(result["soft"].argmax(-1), needed)
