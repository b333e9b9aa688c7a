"""The tiny Vision Transformer: patchify against a strided convolution and a hand-built image, the
encoder block against torch's own layer, the model's shapes and gradients, and the trained demo."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from runnable.vision_transformer import EncoderBlock, TinyViT, demo, patchify, quadrant_images

EXACT = dict(atol=1e-10, rtol=1e-10)      # float64: the two sides add the same few products in other orders
TOLERANCE = dict(atol=1e-5, rtol=1e-5)    # float32, sums over at most a few dozen terms
ACCURACY = 0.9                            # held-out, after the demo's 150 steps; chance is 0.25


def test_patchify_then_linear_is_a_strided_convolution(device):
    """Independent reference: nn.Conv2d with kernel = stride = P, weights copied from the linear
    map E reordered to the conv's (out, channel, row, column) layout. Three channels, P = 3."""
    torch.manual_seed(0)
    images = torch.randn(2, 3, 9, 12, device=device, dtype=torch.float64)
    linear = nn.Linear(3 * 3 * 3, 5).to(device, torch.float64)
    conv = nn.Conv2d(3, 5, kernel_size=3, stride=3).to(device, torch.float64)
    with torch.no_grad():
        conv.weight.copy_(linear.weight.reshape(5, 3, 3, 3).permute(0, 3, 1, 2))   # (D, P, P, C) → (D, C, P, P)
        conv.bias.copy_(linear.bias)
    expected = conv(images).flatten(2).transpose(1, 2)                              # (B, N, D), raster order
    assert patchify(images, 3).shape == (2, 12, 27)
    torch.testing.assert_close(linear(patchify(images, 3)), expected, **EXACT)


def test_patchify_order_on_a_hand_built_image(device):
    """Pixel (c, y, x) holds 10000c + 100y + x, so patch n = (r, q) = divmod(n, W/P) must hold, at flat
    index (p1·P + p2)·C + c, the value 10000c + 100(rP + p1) + (qP + p2): a closed form."""
    C, H, W, P = 2, 4, 6, 2
    c, y, x = torch.meshgrid(torch.arange(C), torch.arange(H), torch.arange(W), indexing="ij")
    image = (10000 * c + 100 * y + x).to(device)[None]
    patches = patchify(image, P)[0]
    assert patches.shape == (6, P * P * C)
    for n in range(6):
        r, q = divmod(n, W // P)
        for p1 in range(P):
            for p2 in range(P):
                for channel in range(C):
                    expected = 10000 * channel + 100 * (r * P + p1) + (q * P + p2)
                    assert patches[n, (p1 * P + p2) * C + channel].item() == expected


def test_encoder_block_is_torchs_pre_norm_layer(device):
    """Independent reference: nn.TransformerEncoderLayer(norm_first=True, GELU, no dropout) with the
    same weights computes z' = z + MSA(LN(z)), z' + MLP(LN(z'))."""
    torch.manual_seed(1)
    block = EncoderBlock(8, 2, 16).to(device)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True,
                                       norm_first=True).to(device)
    layer.self_attn.load_state_dict(block.attention.state_dict())
    layer.linear1.load_state_dict(block.mlp[0].state_dict())
    layer.linear2.load_state_dict(block.mlp[2].state_dict())
    layer.norm1.load_state_dict(block.norm1.state_dict())
    layer.norm2.load_state_dict(block.norm2.state_dict())
    layer.eval()
    z = torch.randn(3, 5, 8, device=device)
    out, weights = block(z)
    torch.testing.assert_close(out, layer(z), **TOLERANCE)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2, 5, device=device), **TOLERANCE)


def test_model_shapes_and_gradients(device):
    torch.manual_seed(2)
    model = TinyViT(image_size=8, patch_size=4, channels=3, dim=16, depth=3, heads=4, mlp_dim=32, classes=5)
    model = model.to(device)
    logits, attentions = model(torch.randn(2, 3, 8, 8, device=device))
    assert logits.shape == (2, 5) and len(attentions) == 3
    assert all(a.shape == (2, 4, 5, 5) for a in attentions)            # 4 patches + the class token
    logits.square().sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name


def test_quadrant_images_closed_form():
    """The bright patch is the one whose mean exceeds the rest, and it lies in the labelled quadrant."""
    images, labels, patch = quadrant_images(64, generator=torch.Generator().manual_seed(3))
    means = patchify(images, 4).mean(-1)
    assert torch.equal(means.argmax(-1), patch)
    row, column = patch // 4, patch % 4
    assert torch.equal(labels, 2 * (row >= 2).long() + (column >= 2).long())
    assert set(labels.tolist()) == {0, 1, 2, 3}


def test_class_token_output_ignores_the_patch_order_only_through_positions(device):
    """Without E_pos the model cannot tell where a patch was: swapping two patches of the image
    leaves the logits unchanged. With E_pos it does not (the quadrant task needs that)."""
    torch.manual_seed(4)
    model = TinyViT().to(device).eval()
    images = torch.randn(1, 1, 16, 16, device=device)
    swapped = images.clone()
    swapped[..., 0:4, 0:4], swapped[..., 12:16, 12:16] = images[..., 12:16, 12:16], images[..., 0:4, 0:4]
    with torch.no_grad():
        assert (model(images)[0] - model(swapped)[0]).abs().max() > 1e-4
        model.positions.zero_()
        torch.testing.assert_close(model(images)[0], model(swapped)[0], **TOLERANCE)


def check_claims(result):
    """What holds for every seed tried (0-4 on the CPU): the quadrant is learned (accuracy 1.0 each
    time), and some block gives the bright patch well over its even share of 1/16 (the larger of the
    two blocks' shares was 0.13 to 0.62). Which block does it varies with the seed."""
    assert result["accuracy"] > ACCURACY
    assert max(result["on_square"]) > 0.1


@pytest.mark.parametrize("seed", [1, 2])
def test_the_claims_hold_for_other_seeds(seed):
    check_claims(demo("cpu", seed=seed))


def test_demo_runs_and_agrees(device):
    result = demo(device)
    assert result["conv_error"] < 1e-10
    check_claims(result)
    # the page's claims for seed 0 only: block 0 gives the bright patch about its even share (0.07 of
    # a uniform 0.0625), block 1 concentrates on it (about 0.6; 0.25 is four times uniform)
    assert result["on_square"][0] < 0.15 and result["on_square"][-1] > 0.25
    share = result["class_attention"].sum(-1)            # patches only: the rest is on the class token itself
    assert result["class_attention"].shape == (2, 512, 16) and torch.all((share > 0) & (share <= 1 + 1e-6))
