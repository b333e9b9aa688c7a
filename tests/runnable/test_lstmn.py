"""The LSTMN against its equations written as a loop, against torch's LSTM for the steps where the
tape has at most one entry, against torch's LSTMCell fed running means when the scores are flat,
and for strict causality."""
from __future__ import annotations

import torch
from torch import nn

from runnable.lstmn import LSTMN, demo, naive_lstmn

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, a dozen recurrent steps of short sums


def gates_as_torch_lstm(model: LSTMN, lstm_weight_ih, lstm_weight_hh, lstm_bias):
    """Copy the LSTMN's gate weights into torch's layout: torch orders the gates i, f, ĉ(g), o and
    splits input (x) from recurrent (h) weights; the LSTMN stacks i, f, o, ĉ over [h̃ ; x]."""
    n = model.n
    W, b = model.gates.weight, model.gates.bias
    order = torch.cat([torch.arange(0, 2 * n), torch.arange(3 * n, 4 * n), torch.arange(2 * n, 3 * n)])
    with torch.no_grad():
        lstm_weight_hh.copy_(W[order, :n])
        lstm_weight_ih.copy_(W[order, n:])
        lstm_bias.copy_(b[order])


def test_matches_the_loop(device):
    torch.manual_seed(0)
    model = LSTMN(5, 6, attention_size=7).to(device)
    torch.nn.init.normal_(model.v.weight, std=2.0)          # uneven weights, so the test sees the scores
    x = torch.randn(3, 8, 5, device=device)
    hidden, attention = model(x)
    ref_hidden, ref_attention = naive_lstmn(model, x)
    assert hidden.shape == (3, 8, 6) and attention.shape == (3, 8, 8)
    torch.testing.assert_close(attention, ref_attention, **TOLERANCE)
    torch.testing.assert_close(hidden, ref_hidden, **TOLERANCE)


def test_attention_is_strictly_causal_and_normalised(device):
    torch.manual_seed(1)
    model = LSTMN(5, 6).to(device)
    x = torch.randn(2, 9, 5, device=device)
    _, attention = model(x)
    assert torch.all(torch.triu(attention) == 0)             # nothing on or above the diagonal
    assert torch.all(attention[:, 0] == 0)                   # step 0: empty tape, no weights at all
    assert torch.all(attention[:, 1, 0] == 1)                # step 1: a one-slot tape takes everything
    torch.testing.assert_close(attention[:, 1:].sum(-1), torch.ones(2, 8, device=device), **TOLERANCE)
    assert torch.all(torch.tril(attention, -1)[:, 1:].sum(-1) > 0)


def test_the_future_does_not_change_the_past(device):
    torch.manual_seed(2)
    model = LSTMN(5, 6).to(device)
    x = torch.randn(1, 8, 5, device=device)
    changed = x.clone()
    changed[:, 5:] = torch.randn(1, 3, 5, device=device)
    (h, s), (h2, s2) = model(x), model(changed)
    torch.testing.assert_close(h[:, :5], h2[:, :5], **TOLERANCE)
    torch.testing.assert_close(s[:, :5], s2[:, :5], **TOLERANCE)
    assert (h[:, 5:] - h2[:, 5:]).abs().max() > 1e-3


def test_first_two_steps_are_torchs_lstm(device):
    """Step 0 starts from h̃ = c̃ = 0 and step 1 reads a one-slot tape (s = [1]), so both are plain LSTM
    steps: torch's nn.LSTM with the same weights must agree there, and (generally) not later.
    In float64, because on CUDA nn.LSTM runs through cuDNN, which rounds float32 through TF32."""
    torch.manual_seed(3)
    model = LSTMN(5, 6).to(device, torch.float64)
    lstm = nn.LSTM(5, 6, batch_first=True).to(device, torch.float64)
    gates_as_torch_lstm(model, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0)
    torch.nn.init.zeros_(lstm.bias_hh_l0)
    x = torch.randn(4, 6, 5, device=device, dtype=torch.float64)
    hidden, _ = model(x)
    with torch.no_grad():
        expected, _ = lstm(x)
    torch.testing.assert_close(hidden[:, :2], expected[:, :2], **TOLERANCE)
    assert (hidden[:, 2:] - expected[:, 2:]).abs().max() > 1e-3


def test_flat_scores_give_running_means_fed_to_torchs_lstm_cell(device):
    """v = 0 makes every score 0, so s^t_i = 1/t (t earlier positions) and the step is torch's
    LSTMCell applied to x_t with state (mean of the earlier h, mean of the earlier c)."""
    torch.manual_seed(4)
    model = LSTMN(5, 6).to(device)
    torch.nn.init.zeros_(model.v.weight)
    cell = nn.LSTMCell(5, 6).to(device)
    gates_as_torch_lstm(model, cell.weight_ih, cell.weight_hh, cell.bias_ih)
    torch.nn.init.zeros_(cell.bias_hh)
    x = torch.randn(2, 7, 5, device=device)
    hidden, attention = model(x)
    t, i = torch.arange(7, device=device)[:, None], torch.arange(7, device=device)[None, :]
    expected_attention = torch.where(i < t, 1 / t.clamp(min=1).float(), 0.0)   # row t: 1/t on slots 0..t-1
    torch.testing.assert_close(attention, expected_attention.expand(2, 7, 7), **TOLERANCE)
    hs, cs = [], []
    with torch.no_grad():
        for t in range(7):
            state = (torch.zeros(2, 6, device=device),) * 2 if t == 0 else \
                (torch.stack(hs).mean(0), torch.stack(cs).mean(0))
            h, c = cell(x[:, t], state)
            hs.append(h), cs.append(c)
    torch.testing.assert_close(hidden, torch.stack(hs, 1), **TOLERANCE)


def test_gradients_reach_every_parameter(device):
    torch.manual_seed(5)
    model = LSTMN(5, 6).to(device)
    x = torch.randn(2, 6, 5, device=device, requires_grad=True)
    model(x)[0][:, -1].square().sum().backward()
    for name, parameter in model.named_parameters():
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name
    assert x.grad[:, 0].abs().sum() > 0                      # the last step reaches back to the first token


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-5 and result["upper"] == 0
    attention = result["attention"]
    assert attention.shape == (10, 10) and torch.all(attention[0] == 0)
    torch.testing.assert_close(attention[1:].sum(-1), torch.ones(9), **TOLERANCE)
