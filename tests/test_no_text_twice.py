"""Nothing written by hand twice: essays tell the story between works, annotations say what one
work did, and a sentence lives in one of them only.

The rule. Every essay (any `docs/essays/*.md`, so essays added later are covered) and every
entry annotation (`annotation` in `timeline/*.yaml`) is split into sentences, after dropping the
front matter, code, math (`$…$`, `$$…$$`), HTML tags and comments and Markdown link targets.
A sentence is normalised to its words: Markdown markup, punctuation and case are dropped and
accents folded, so `*Attend*: a network` and `attend a network` are the same words. Two
sentences count as the same text when they share a run of 12 or more consecutive words
(near-verbatim copies differ in a word or two at their edges, so identity after normalisation
would miss most of them). The test fails for such a pair in an essay and an annotation, or in
two different essays; each failure names both files and both sentences. Two annotations may
share a run (entries are independent records), and repetition inside one file is the file's
own business.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import yaml

from tests.conftest import ROOT
from tests.hang_guard import hang_guard

RUN = 12  # words in a shared run that make two sentences the same text
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: the check stays well under 2 s

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<!\\)\$[^$\n]+?\$")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_HTML = re.compile(r"<!--.*?-->|<[^>\n]+>", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
# Full stops that do not end a sentence, hidden before splitting.
_ABBREVIATIONS = re.compile(r"\b(et al|e\.g|i\.e|cf|vs|Fig|Sec|Eq|Ch|No|pp|p)\.", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]*_]*\s+|\n\s*\n|^#+ .*$", re.M)
_WORD = re.compile(r"[a-z0-9]+")


class Sentence(NamedTuple):
    path: str
    text: str
    words: tuple[str, ...]


def words(text: str) -> tuple[str, ...]:
    """A sentence's words: case, accents, punctuation and Markdown markup dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return tuple(_WORD.findall(folded.replace("'", "").replace("’", "")))


def sentences(markdown: str, path: str) -> list[Sentence]:
    """The prose sentences of a Markdown text (code, math, tags and link targets left out)."""
    text = _FRONT_MATTER.sub("", markdown)
    # Math and code stay visible in messages as a mark with no words in it.
    for pattern, mark in ((_FENCED_CODE, " "), (_DISPLAY_MATH, " $$…$$ "), (_INLINE_MATH, "$…$"),
                          (_INLINE_CODE, "`…`"), (_HTML, " ")):
        text = pattern.sub(mark, text)
    text = _LINK_TARGET.sub("]", text)
    text = _ABBREVIATIONS.sub(lambda m: m.group(1) + "\0", text)
    found = []
    for piece in _SENTENCE_END.split(text):
        shown = " ".join(piece.replace("\0", ".").split())
        if len(found_words := words(shown)) >= RUN:
            found.append(Sentence(path, shown, found_words))
    return found


def essay_sentences(root: Path = ROOT) -> list[Sentence]:
    return [s for path in sorted((root / "docs" / "essays").glob("*.md"))
            for s in sentences(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix())]


def annotation_sentences(root: Path = ROOT) -> list[Sentence]:
    found = []
    for path in sorted((root / "timeline").glob("*.yaml")):
        annotation = (yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}).get("annotation")
        if isinstance(annotation, str):
            found += sentences(annotation, path.relative_to(root).as_posix())
    return found


def shared_runs(essays: list[Sentence], annotations: list[Sentence]) -> list[tuple[Sentence, Sentence]]:
    """Pairs (essay sentence, other sentence) sharing a run of RUN words, the other from an
    annotation or from a different essay; each pair once."""
    by_run: dict[tuple[str, ...], list[Sentence]] = defaultdict(list)
    for sentence in essays + annotations:
        for start in range(len(sentence.words) - RUN + 1):
            by_run[sentence.words[start:start + RUN]].append(sentence)
    pairs: dict[tuple[Sentence, Sentence], None] = {}
    essay_set = set(essays)
    for holders in by_run.values():
        for i, first in enumerate(holders):
            for second in holders[i + 1:]:
                if first.path == second.path or (first not in essay_set and second not in essay_set):
                    continue
                pair = (first, second) if first in essay_set else (second, first)
                pairs.setdefault(pair)
    return list(pairs)


def describe(pair: tuple[Sentence, Sentence]) -> str:
    essay, other = pair
    return (f"{essay.path} and {other.path} share {RUN}+ words — write one of them afresh "
            f"(or link to the other):\n    {essay.path}: {essay.text}\n    {other.path}: {other.text}")


def test_no_sentence_in_an_essay_and_an_annotation_or_two_essays():
    with hang_guard(300, "the shared-sentence check"):  # about 0.1 s; a quadratic blow-up would hang
        pairs = shared_runs(essay_sentences(), annotation_sentences())
    assert not pairs, f"{len(pairs)} sentences written twice:\n" + "\n".join(describe(p) for p in pairs)


# Negative controls: the check can fail, and it fails for the kinds of copy it claims to catch.

_COPIED = ("The model works in three steps on plain word embeddings, attending, comparing and "
           "aggregating across the two sentences.")


def _project(tmp_path: Path, essays: dict[str, str], annotations: dict[str, str]) -> Path:
    (tmp_path / "docs" / "essays").mkdir(parents=True)
    (tmp_path / "timeline").mkdir()
    for name, text in essays.items():
        (tmp_path / "docs" / "essays" / name).write_text(text, encoding="utf-8")
    for name, text in annotations.items():
        (tmp_path / "timeline" / name).write_text(yaml.safe_dump({"annotation": text}), encoding="utf-8")
    return tmp_path


def _pairs(root: Path) -> list[tuple[Sentence, Sentence]]:
    return shared_runs(essay_sentences(root), annotation_sentences(root))


def test_a_copy_with_other_markup_case_and_punctuation_is_caught(tmp_path):
    marked_up = ("---\ndescription: \"x\"\n---\n\nAs [the paper](../entries/x.md) says, *the MODEL* works "
                 "in three steps on plain word-embeddings; attending, comparing and aggregating across "
                 "the two sentences $e_{ij}$ in parallel.")
    root = _project(tmp_path, {"new-essay.md": marked_up}, {"2016-x.yaml": _COPIED})
    pairs = _pairs(root)
    assert len(pairs) == 1
    message = describe(pairs[0])
    assert "docs/essays/new-essay.md" in message and "timeline/2016-x.yaml" in message
    assert "three steps on plain word-embeddings" in message


def test_a_sentence_in_two_essays_is_caught_and_two_annotations_are_not(tmp_path):
    root = _project(tmp_path, {"a.md": _COPIED, "b.md": "Intro words here. " + _COPIED},
                    {"2016-x.yaml": "Unrelated. " + _COPIED.replace("model", "network"),
                     "2016-y.yaml": "Unrelated. " + _COPIED.replace("model", "network")})
    found = {(p[0].path, p[1].path) for p in _pairs(root)}
    assert ("docs/essays/a.md", "docs/essays/b.md") in found or ("docs/essays/b.md", "docs/essays/a.md") in found
    assert not any(first.startswith("timeline/") for first, _ in found)


def test_eleven_shared_words_math_and_link_targets_are_not_a_copy(tmp_path):
    eleven = "one two three four five six seven eight nine ten eleven"
    essay = (f"Alpha {eleven} beta gamma delta. A formula $$q k v w x y z a b c d e f$$ stands alone. "
             "See [here](a/b/c/d/e/f/g/h/i/j/k/l/m.md) now.")
    annotation = f"Omega {eleven} psi chi phi. $q k v w x y z a b c d e f$ [there](a/b/c/d/e/f/g/h/i/j/k/l/m.md)."
    assert _pairs(_project(tmp_path, {"a.md": essay}, {"2016-x.yaml": annotation})) == []


def test_sentences_split_at_full_stops_but_not_after_et_al():
    found = sentences("Cho et al. showed that the fixed vector degrades on long sentences in their "
                      "experiments with two models. Short one.", "x.md")
    assert [s.text for s in found] == ["Cho et al. showed that the fixed vector degrades on long "
                                       "sentences in their experiments with two models."]
