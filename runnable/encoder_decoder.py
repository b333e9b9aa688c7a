"""The fixed-vector RNN encoder–decoder: the bottleneck attention removed
(Cho et al.; bib: cho2014learning. Sutskever, Vinyals & Le; bib: sutskever2014sequence).

An encoder RNN reads x_1..x_T and keeps only its last state,

    h_t = f(h_{t-1}, x_t),            c = h_T,

and the decoder generates every output from that single vector c (in Cho et al.'s form, c
enters every decoder step):

    s_i = g(s_{i-1}, y_{i-1}, c),     p(y_i | y_<i, x) = softmax(W_o [s_i; c; y_{i-1}]).

However long the source, everything the decoder knows about it must fit in c: this is the
bottleneck that made translation quality fall with sentence length and that attention removed.

Differences from the paper:
- GRU cells and small sizes; Sutskever et al. used deep LSTMs, reversed source sentences and much
  larger models, none of which is reproduced.
- The output layer is a single linear map of [s_i; c; y_{i-1}] (Cho et al.'s form has a maxout
  layer).

Shapes: B batch, T source length, L target length, E embedding size, H hidden size, V vocabulary.
"""
from __future__ import annotations

import torch
from torch import nn


class EncoderDecoder(nn.Module):
    """A GRU encoder whose last state c is all the decoder is given: c sets the decoder's first
    state and is fed to every step and to the output layer."""

    def __init__(self, source_vocab: int, target_vocab: int, embed: int = 32, hidden: int = 64):
        super().__init__()
        self.source_embed = nn.Embedding(source_vocab, embed)
        self.target_embed = nn.Embedding(target_vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.init_state = nn.Linear(hidden, hidden)
        self.decoder = nn.GRU(embed + hidden, hidden, batch_first=True)
        self.output = nn.Linear(hidden + hidden + embed, target_vocab)

    def encode(self, source, lengths=None):
        """c = h_T: the encoder's last state (at each example's own last token when lengths are given)."""
        states, last = self.encoder(self.source_embed(source))              # (B, T, H), (1, B, H)
        if lengths is None:
            return last[0]                                                  # (B, H)
        return states[torch.arange(source.shape[0]), lengths - 1]          # (B, H)

    def forward(self, source, target_in, lengths=None):
        """Teacher-forced logits (B, L, V) for target_in (B, L), which starts with BOS."""
        c = self.encode(source, lengths)                                    # the only view of x
        y_prev = self.target_embed(target_in)                               # (B, L, E)
        c_every_step = c[:, None, :].expand(-1, target_in.shape[1], -1)     # (B, L, H)
        s0 = torch.tanh(self.init_state(c))[None]                           # (1, B, H)
        states, _ = self.decoder(torch.cat([y_prev, c_every_step], -1), s0)  # s_i = g(s_{i-1}, y_{i-1}, c)
        return self.output(torch.cat([states, c_every_step, y_prev], -1))


def step_by_step(model: EncoderDecoder, source, target_in):
    """The same computation one token at a time with GRUCell copies of the weights: the reference."""
    def cell_from(gru: nn.GRU) -> nn.GRUCell:
        cell = nn.GRUCell(gru.input_size, gru.hidden_size).to(source.device, gru.weight_ih_l0.dtype)
        cell.weight_ih.data, cell.weight_hh.data = gru.weight_ih_l0.data, gru.weight_hh_l0.data
        cell.bias_ih.data, cell.bias_hh.data = gru.bias_ih_l0.data, gru.bias_hh_l0.data
        return cell

    encoder, decoder = cell_from(model.encoder), cell_from(model.decoder)
    h = torch.zeros(source.shape[0], model.encoder.hidden_size, device=source.device, dtype=model.encoder.weight_ih_l0.dtype)
    for x_t in model.source_embed(source).unbind(1):
        h = encoder(x_t, h)                                                 # h_t = f(h_{t-1}, x_t)
    c, s, logits = h, torch.tanh(model.init_state(h)), []
    for y_prev in model.target_embed(target_in).unbind(1):
        s = decoder(torch.cat([y_prev, c], -1), s)
        logits.append(model.output(torch.cat([s, c, y_prev], -1)))
    return torch.stack(logits, 1)


def demo(device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Encode two sources of different lengths into vectors of the same size; check the fused
    GRU computation against the step-by-step reference."""
    torch.manual_seed(seed)
    # float64: on CUDA, cuDNN's float32 GRU uses TF32 products (about 1e-4 off), which would hide
    # whether the fused and step-by-step computations really agree.
    model = EncoderDecoder(source_vocab=10, target_vocab=10, embed=8, hidden=16).to(device, torch.float64)
    source, target_in = torch.randint(1, 10, (2, 9), device=device), torch.randint(1, 10, (2, 5), device=device)
    logits, reference = model(source, target_in), step_by_step(model, source, target_in)
    error = (logits - reference).abs().max().item()
    short, long = model.encode(source[:, :3]), model.encode(source)
    print(f"a 3-token and a 9-token source both become a vector of {short.shape[-1]} numbers: "
          f"{tuple(short.shape)} and {tuple(long.shape)}")
    print(f"logits {tuple(logits.shape)}; max |fused - step by step| = {error:.2e} (float64, tolerance 1e-10)")
    return {"max_error": error, "code_size": long.shape[-1]}


if __name__ == "__main__":
    from runnable._cli import device_from_args

    demo(device_from_args(__doc__.splitlines()[0]))
