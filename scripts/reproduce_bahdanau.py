"""Reproduce the shape of Bahdanau et al.'s Figure 2 (quality against sentence length) and an
alignment like their Figure 3, on a synthetic translation task small enough for a laptop CPU.

The "language pair": a source sentence is a sequence of tokens; its translation maps every
token through a fixed dictionary and swaps each "adjective" (a token from a small class) with
the noun after it, a local reordering like "European Economic Area" → "zone économique
européenne". Both models are trained on the same sentences of 4–40 tokens for the same number
of steps; the fixed-vector encoder–decoder must squeeze each sentence into one vector, RNNsearch
attends over all encoder states.

    python -m scripts.reproduce_bahdanau [--steps 1500] [--device cpu]

writes docs/mechanisms/results/bahdanau-figure-2.csv (token accuracy by source length, greedy
decoding on held-out sentences, and RNNsearch's alignment accuracy: the share of output words whose
largest α falls on the source word they translate) and bahdanau-alignment.json (one sentence's α
matrix, with the source position each output word translates). The site shows these files;
building the site never retrains.

Differences from the paper:
- A synthetic language pair (a fixed dictionary plus local swaps) instead of WMT'14
  English–French, so the reproduction is of the curves' shape, not their numbers.
- Quality is token accuracy under greedy decoding, not BLEU under beam search.
- Small models trained for 1,500 Adam steps on sentences of 4–40 tokens, against the paper's
  620-dimensional embeddings and 1,000 units trained for days on sentences of up to 30 or 50 words
  (RNNsearch-30, RNNsearch-50).
- The models' own simplifications apply (runnable/bahdanau_attention.py and
  runnable/encoder_decoder.py)."""
from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn

from runnable.bahdanau_attention import RNNsearch
from runnable.encoder_decoder import EncoderDecoder

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "mechanisms" / "results"
PAD, BOS = 0, 1
VOCAB = 24                       # 0 pad, 1 BOS, 2..23 words
ADJECTIVES = set(range(2, 8))    # words that swap with the word after them
MIN_LEN, MAX_LEN = 4, 40
BUCKETS = [(4, 10), (11, 15), (16, 20), (21, 25), (26, 30), (31, 35), (36, 40)]


def source_positions(sentence: list[int]) -> list[int]:
    """For each word of the translation, the source position it translates (translate's swaps)."""
    out, i = [], 0
    while i < len(sentence):
        if sentence[i] in ADJECTIVES and i + 1 < len(sentence):
            out += [i + 1, i]
            i += 2
        else:
            out.append(i)
            i += 1
    return out


def translate(sentence: list[int], dictionary: list[int]) -> list[int]:
    return [dictionary[sentence[j]] for j in source_positions(sentence)]


def alignment_hits(alignments: torch.Tensor, source: torch.Tensor) -> tuple[int, int]:
    """(rows whose largest α_ij falls on the source word that output word translates, rows)."""
    needed = torch.tensor([source_positions(row) for row in source.tolist()])
    return (alignments.argmax(-1).cpu() == needed).sum().item(), needed.numel()


def batch(size: int, generator: torch.Generator, dictionary: list[int], lengths=(MIN_LEN, MAX_LEN)):
    """Padded (source, target_in, target_out, lengths), all sentences of one batch the same length."""
    length = int(torch.randint(lengths[0], lengths[1] + 1, (1,), generator=generator))
    source = torch.randint(2, VOCAB, (size, length), generator=generator)
    target = torch.tensor([translate(row, dictionary) for row in source.tolist()])
    target_in = torch.cat([torch.full((size, 1), BOS), target[:, :-1]], 1)
    return source, target_in, target, torch.full((size,), length)


@torch.no_grad()
def greedy(model: nn.Module, source: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Decode `length` tokens, feeding back the model's own predictions."""
    target_in = torch.full((source.shape[0], 1), BOS, device=source.device)
    for _ in range(length):
        logits = model(source, target_in)
        logits = logits[0] if isinstance(logits, tuple) else logits
        target_in = torch.cat([target_in, logits[:, -1].argmax(-1, keepdim=True)], 1)
    alignments = model(source, target_in[:, :-1])[1] if isinstance(model, RNNsearch) else None
    return target_in[:, 1:], alignments


def train(model: nn.Module, steps: int, dictionary: list[int], device, seed: int) -> float:
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for step in range(steps):
        source, target_in, target_out, _ = (t.to(device) for t in batch(64, generator, dictionary))
        logits = model(source, target_in)
        logits = logits[0] if isinstance(logits, tuple) else logits
        loss = loss_fn(logits.reshape(-1, VOCAB), target_out.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        if step % 250 == 0 or step == steps - 1:
            print(f"  {type(model).__name__:>14} step {step:>5}  loss {loss.item():.3f}", flush=True)
    return time.perf_counter() - start


def evaluate(model: nn.Module, dictionary: list[int], device, seed: int, per_bucket: int = 96) -> list[dict]:
    """Token accuracy per length bucket and, for RNNsearch, alignment accuracy: the share of output
    words whose largest attention weight is on the source word they translate."""
    generator, rows = torch.Generator().manual_seed(seed), []
    model.eval()
    for low, high in BUCKETS:
        correct = total = aligned = aligned_total = 0
        for _ in range(per_bucket // 32):
            source, _, target, lengths = batch(32, generator, dictionary, (low, high))
            predicted, alignments = greedy(model, source.to(device), source.shape[1])
            correct += (predicted.cpu() == target).sum().item()
            total += target.numel()
            if alignments is not None:
                hits, count = alignment_hits(alignments, source)
                aligned, aligned_total = aligned + hits, aligned_total + count
        rows.append({"model": type(model).__name__, "length": f"{low}-{high}", "token_accuracy": correct / total,
                     "tokens": total, "alignment_accuracy": aligned / aligned_total if aligned_total else ""})
    model.train()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    dictionary = list(range(VOCAB))
    words = dictionary[2:]
    torch.manual_seed(args.seed)
    dictionary[2:] = [words[i] for i in torch.randperm(len(words)).tolist()]
    models = [EncoderDecoder(VOCAB, VOCAB, embed=32, hidden=64), RNNsearch(VOCAB, VOCAB, embed=32, hidden=64, align=64)]
    rows, seconds = [], {}
    for model in models:
        model.to(args.device)
        seconds[type(model).__name__] = round(train(model, args.steps, dictionary, args.device, args.seed), 1)
        rows += evaluate(model, dictionary, args.device, seed=args.seed + 1)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "bahdanau-figure-2.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    sentence = torch.tensor([[9, 3, 14, 20, 5, 11, 17, 12, 6, 22, 15, 10]], device=args.device)
    predicted, alignment = greedy(models[1].eval(), sentence, sentence.shape[1])
    (args.out / "bahdanau-alignment.json").write_text(json.dumps({
        "source": sentence[0].tolist(), "output": predicted[0].tolist(),
        "reference": translate(sentence[0].tolist(), dictionary),
        "source_positions": source_positions(sentence[0].tolist()),
        "alpha": [[round(a, 4) for a in row] for row in alignment[0].tolist()],
        "run": {"steps": args.steps, "device": str(args.device), "torch": torch.__version__,
                "machine": f"{platform.machine()}, {torch.get_num_threads()} threads", "train_seconds": seconds,
                "command": "python -m scripts.reproduce_bahdanau"}}, indent=1))
    for row in rows:
        print(f"{row['model']:>14} {row['length']:>6}  token accuracy {row['token_accuracy']:.3f}")
    print(f"wrote {args.out}/bahdanau-figure-2.csv and bahdanau-alignment.json; training seconds {seconds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
