"""The fixed-vector encoder–decoder against a step-by-step GRUCell reference; the bottleneck itself."""
from __future__ import annotations

import torch

from runnable.encoder_decoder import EncoderDecoder, demo, step_by_step

TOLERANCE = dict(atol=1e-5, rtol=1e-5)


def test_matches_step_by_step_reference(device):
    torch.manual_seed(0)
    model = EncoderDecoder(7, 9, embed=5, hidden=6).to(device, torch.float64)  # float64: no TF32 in cuDNN's GRU
    source, target_in = torch.randint(0, 7, (3, 8), device=device), torch.randint(0, 9, (3, 4), device=device)
    torch.testing.assert_close(model(source, target_in), step_by_step(model, source, target_in), atol=1e-10, rtol=1e-10)


def test_the_decoder_sees_the_source_only_through_c(device):
    """Two different sources with the same code c give the same translation: the bottleneck."""
    torch.manual_seed(1)
    model = EncoderDecoder(7, 9, embed=5, hidden=6).to(device)
    source_a, source_b = torch.randint(0, 7, (1, 5), device=device), torch.randint(0, 7, (1, 9), device=device)
    target_in = torch.randint(0, 9, (1, 4), device=device)
    code = model.encode(source_a)
    model.encode = lambda source, lengths=None: code  # both sources now encode to c_a
    torch.testing.assert_close(model(source_a, target_in), model(source_b, target_in))


def test_lengths_pick_each_examples_last_state(device):
    torch.manual_seed(2)
    model = EncoderDecoder(7, 9, embed=5, hidden=6).to(device)
    source = torch.randint(1, 7, (2, 6), device=device)
    codes = model.encode(source, lengths=torch.tensor([6, 3], device=device))
    torch.testing.assert_close(codes[1], model.encode(source[1:, :3])[0], **TOLERANCE)


def test_gradients_reach_every_parameter(device):
    model = EncoderDecoder(7, 9, embed=5, hidden=6).to(device)
    model(torch.randint(0, 7, (2, 5), device=device), torch.randint(0, 9, (2, 3), device=device)).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_demo(device):
    assert demo(device)["max_error"] < 1e-10

