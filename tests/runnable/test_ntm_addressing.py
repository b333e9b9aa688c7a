"""NTM addressing against the equations written as a loop, closed forms for each stage
(rotation by a one-hot shift, one-hot in the γ → ∞ limit, uniform at β = 0), reading,
erasing and adding, batching and gradients."""
from __future__ import annotations


import torch

from runnable.ntm_addressing import NTMHead, address, demo, naive_address, read, write

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32 against float64 loops over at most 9 rows


def random_inputs(B, N, M, S, device, seed):
    generator = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.rand(*shape, generator=generator)
    inputs = dict(memory=torch.randn(B, N, M, generator=generator), w_prev=torch.softmax(3 * r(B, N), -1),
                  key=torch.randn(B, M, generator=generator), beta=5 * r(B), g=r(B),
                  s=torch.softmax(2 * r(B, S), -1), gamma=1 + 3 * r(B))
    return {name: value.to(device) for name, value in inputs.items()}


def test_matches_the_loop(device):
    inputs = random_inputs(4, 9, 5, 3, device, seed=1)
    w = address(**inputs)
    torch.testing.assert_close(w.double().cpu(), naive_address(**{k: v.cpu() for k, v in inputs.items()}), **TOLERANCE)
    torch.testing.assert_close(w.sum(-1), torch.ones(4, device=device))
    assert torch.all(w >= 0)


def test_matches_the_loop_with_wider_shifts_on_a_small_memory(device):
    """Shifts -2..2 on 3 rows wrap onto each other; the loop adds their mass by hand."""
    shifts = (-2, -1, 0, 1, 2)
    inputs = random_inputs(2, 3, 4, len(shifts), device, seed=2)
    w = address(**inputs, shifts=shifts)
    expected = naive_address(**{k: v.cpu() for k, v in inputs.items()}, shifts=shifts)
    torch.testing.assert_close(w.double().cpu(), expected, **TOLERANCE)


def test_one_hot_shift_rotates_the_previous_weighting(device):
    inputs = random_inputs(2, 7, 4, 3, device, seed=3)
    inputs.update(g=torch.zeros(2, device=device), gamma=torch.ones(2, device=device))
    for index, shift in enumerate((-1, 0, 1)):
        s = torch.zeros(2, 3, device=device)
        s[:, index] = 1
        w = address(**{**inputs, "s": s})
        torch.testing.assert_close(w, torch.roll(inputs["w_prev"], shift, dims=-1))
    one_hot = torch.zeros(2, 7, device=device)
    one_hot[:, 6] = 1
    s = torch.tensor([[0.0, 0.0, 1.0]] * 2, device=device)
    w = address(**{**inputs, "w_prev": one_hot, "s": s})
    assert w.argmax(-1).tolist() == [0, 0]  # row 6 shifted by +1 wraps round to row 0


def test_large_gamma_approaches_one_hot(device):
    inputs = random_inputs(3, 8, 4, 3, device, seed=4)
    smooth = address(**{**inputs, "gamma": torch.ones(3, device=device)})
    sharp = address(**{**inputs, "gamma": torch.full((3,), 500.0, device=device)})
    one_hot = torch.nn.functional.one_hot(smooth.argmax(-1), 8).float()
    torch.testing.assert_close(sharp, one_hot, atol=1e-4, rtol=0)
    assert torch.all(sharp.max(-1).values > smooth.max(-1).values)


def test_content_stage_alone(device):
    """g = 1, s = δ_0, γ = 1 leaves w^c: β = 0 gives uniform weights, and a key equal to a row
    with a large β finds that row (cosine similarity ignores the key's scale)."""
    inputs = random_inputs(2, 6, 4, 3, device, seed=5)
    inputs.update(g=torch.ones(2, device=device), gamma=torch.ones(2, device=device),
                  s=torch.tensor([[0.0, 1.0, 0.0]] * 2, device=device))
    uniform = address(**{**inputs, "beta": torch.zeros(2, device=device)})
    torch.testing.assert_close(uniform, torch.full((2, 6), 1 / 6, device=device))
    key = 3.0 * inputs["memory"][torch.arange(2), torch.tensor([1, 4])]
    found = address(**{**inputs, "key": key, "beta": torch.full((2,), 200.0, device=device)})
    assert found.argmax(-1).tolist() == [1, 4]


def test_read_erase_and_add(device):
    generator = torch.Generator().manual_seed(6)
    memory = torch.randn(2, 5, 3, generator=generator).to(device)
    w = torch.softmax(torch.randn(2, 5, generator=generator), -1).to(device)
    erase, add = torch.rand(2, 3, generator=generator).to(device), torch.randn(2, 3, generator=generator).to(device)
    expected_read = torch.stack([sum(w[b, i] * memory[b, i] for i in range(5)) for b in range(2)])
    torch.testing.assert_close(read(memory, w), expected_read, **TOLERANCE)
    expected = torch.stack([torch.stack([memory[b, i] * (1 - w[b, i] * erase[b]) + w[b, i] * add[b]
                                         for i in range(5)]) for b in range(2)])
    torch.testing.assert_close(write(memory, w, erase, add), expected, **TOLERANCE)
    one_hot = torch.zeros(2, 5, device=device)
    one_hot[:, 2] = 1
    torch.testing.assert_close(read(memory, one_hot), memory[:, 2])
    wiped = write(memory, one_hot, torch.ones(2, 3, device=device), add)  # erase row 2 fully, then add
    torch.testing.assert_close(wiped[:, 2], add)
    torch.testing.assert_close(wiped[:, [0, 1, 3, 4]], memory[:, [0, 1, 3, 4]])


def test_batching_does_not_mix_examples(device):
    inputs = random_inputs(4, 6, 3, 3, device, seed=7)
    batched = address(**inputs)
    single = torch.cat([address(**{k: v[i:i + 1] for k, v in inputs.items()}) for i in range(4)])
    torch.testing.assert_close(batched, single, **TOLERANCE)


def test_head_constraints_and_gradients(device):
    torch.manual_seed(8)
    head = NTMHead(controller_size=7, row_size=4).to(device).double()
    memory = torch.randn(2, 6, 4, device=device, dtype=torch.float64, requires_grad=True)
    w_prev = torch.softmax(torch.randn(2, 6, device=device, dtype=torch.float64), -1)
    controller = torch.randn(2, 7, device=device, dtype=torch.float64)
    w, erase, add = head(controller, memory, w_prev)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, device=device, dtype=torch.float64))
    assert torch.all((erase > 0) & (erase < 1))

    def read_after_write(m):
        w, erase, add = head(controller, m, w_prev)
        return read(write(m, w, erase, add), w)

    assert torch.autograd.gradcheck(read_after_write, (memory,), eps=1e-6, atol=1e-6)
    read(write(memory, w, erase, add), w).sum().backward()
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5
    assert result["peaks"] == [3, 4, 5, 6, 7, 8]  # found row 3 by content, then stepped by +1
