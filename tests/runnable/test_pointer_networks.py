"""Pointer attention against the equations written as a loop; greedy decoding with masking against
argsort (hand-set weights) and against renormalised teacher forcing; shapes and gradients."""
from __future__ import annotations


import torch

from runnable.pointer_networks import PointerAttention, PointerNetwork, demo, naive_pointer

TOLERANCE = dict(atol=1e-5, rtol=1e-5)  # float32, softmax over at most 9 positions


def test_matches_the_loop_with_a_mask(device):
    torch.manual_seed(0)
    attention = PointerAttention(6, 5).to(device)
    encoded, state = torch.randn(3, 7, 6, device=device), torch.randn(3, 6, device=device)
    mask = torch.rand(3, 7, device=device) > 0.4
    mask[:, 0] = True                                            # at least one position left
    mask[2] = torch.arange(7, device=device) == 3                # only one left: all the mass on it
    p = attention(encoded, state, mask)
    torch.testing.assert_close(p, naive_pointer(attention, encoded, state, mask), **TOLERANCE)
    torch.testing.assert_close(attention(encoded, state), naive_pointer(attention, encoded, state), **TOLERANCE)
    assert torch.all(p[~mask] == 0)
    assert p[2].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    torch.testing.assert_close(p.sum(-1), torch.ones(3, device=device), **TOLERANCE)


def test_network_matches_a_step_by_step_loop(device):
    """The whole decoder by hand: encoder states e_j, d_i from an LSTMCell fed the previously
    chosen point (the start vector first), then the looped u^i_j and softmax."""
    torch.manual_seed(6)
    network = PointerNetwork(point_size=2, hidden=7, align=5).to(device)
    points, targets = torch.rand(2, 6, 2, device=device), torch.tensor([[3, 0, 5], [1, 1, 4]], device=device)
    probabilities, _ = network(points, targets)
    encoded, (h, c) = network.encoder(points)
    for b in range(2):
        state, x = (h[0, b:b + 1], c[0, b:b + 1]), network.start[None]
        for i in range(3):
            state = network.decoder(x, state)
            expected = naive_pointer(network.pointer, encoded[b:b + 1], state[0])
            torch.testing.assert_close(probabilities[b:b + 1, i], expected, **TOLERANCE)
            x = points[b:b + 1, targets[b, i]]


def test_output_size_follows_the_input_length(device):
    """The same weights point over 3 or 9 positions: the output vocabulary is the input."""
    attention = PointerAttention(4, 4).to(device)
    for n in (3, 9):
        p = attention(torch.randn(2, n, 4, device=device), torch.randn(2, 4, device=device))
        assert p.shape == (2, n)


def test_hand_set_pointer_with_masking_sorts(device):
    """Closed form: with e_j = x_j, W_2 = 0 and W_1, v > 0, u^i_j = v tanh(W_1 x_j) is increasing in
    x_j, so argmax-then-mask lists the inputs in descending order: torch.argsort is the reference."""
    torch.manual_seed(1)
    attention = PointerAttention(1, 1).to(device)
    with torch.no_grad():
        attention.W1.weight.fill_(2.0)
        attention.W2.weight.fill_(0.0)
        attention.v.weight.fill_(5.0)
        x = torch.rand(4, 8, 1, device=device)
        available, order = torch.ones(4, 8, dtype=torch.bool, device=device), []
        for _ in range(8):
            index = attention(x, torch.randn(4, 1, device=device), available).argmax(-1)
            available[torch.arange(4, device=device), index] = False
            order.append(index)
    assert torch.equal(torch.stack(order, 1), x[..., 0].argsort(-1, descending=True))


def test_greedy_decoding_is_a_permutation_and_masks_chosen_positions(device):
    torch.manual_seed(2)
    network = PointerNetwork(point_size=2, hidden=12, align=10).to(device)
    probabilities, chosen = network(torch.rand(5, 9, 2, device=device))
    assert probabilities.shape == (5, 9, 9) and chosen.shape == (5, 9)
    assert torch.equal(chosen.sort(-1).values, torch.arange(9, device=device).expand(5, -1))
    for i in range(1, 9):                                        # already chosen → probability exactly 0
        assert torch.all(probabilities[:, i].gather(1, chosen[:, :i]) == 0)
    assert torch.equal(probabilities.argmax(-1), chosen)


def test_masked_greedy_is_renormalised_teacher_forcing(device):
    """Teacher-forcing the greedy choices reproduces the decoder states, unmasked; masking then
    only renormalises: p_masked(j) = p(j) / Σ_{k available} p(k) on the available positions."""
    torch.manual_seed(3)
    network = PointerNetwork(point_size=2, hidden=12, align=10).to(device)
    points = torch.rand(4, 6, 2, device=device)
    greedy, chosen = network(points)
    forced, again = network(points, targets=chosen)
    assert torch.equal(again, chosen)
    available = torch.ones(4, 6, 6, dtype=torch.bool, device=device)
    for i in range(1, 6):
        available[:, i] = available[:, i - 1].scatter(1, chosen[:, i - 1:i], False)
    renormalised = forced * available / (forced * available).sum(-1, keepdim=True)
    torch.testing.assert_close(greedy, renormalised, **TOLERANCE)


def test_batching_does_not_mix_examples(device):
    torch.manual_seed(4)
    network = PointerNetwork(point_size=2, hidden=8, align=8).to(device)
    points = torch.rand(3, 5, 2, device=device)
    batched, chosen = network(points)
    for b in range(3):
        single, single_chosen = network(points[b:b + 1])
        torch.testing.assert_close(batched[b:b + 1], single, **TOLERANCE)
        assert torch.equal(chosen[b:b + 1], single_chosen)


def test_teacher_forced_loss_has_gradients_everywhere(device):
    torch.manual_seed(5)
    network = PointerNetwork(point_size=2, hidden=8, align=8).to(device)
    points, targets = torch.rand(3, 6, 2, device=device), torch.randint(0, 6, (3, 4), device=device)
    probabilities, chosen = network(points, targets)
    assert probabilities.shape == (3, 4, 6) and torch.equal(chosen, targets)
    loss = -probabilities.gather(-1, targets[..., None]).log().mean()
    loss.backward()
    for name, parameter in network.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["max_error"] < 1e-6
    assert result["is_permutation"]
    assert result["order"] == result["values"].argsort(descending=True).tolist()
