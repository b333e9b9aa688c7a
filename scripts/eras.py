"""The eras of the history, for the home page and the timeline's headings. Editorial, not data:
an era is a span of years with a name and the threads that define it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Era:
    name: str
    start: int
    end: int
    blurb: str


ERAS = (
    Era("Before machines: the psychology of attention", 1000, 1979,
        "Listening experiments, filter and attenuation theories, and the first models of visual selection."),
    Era("Maps, spotlights and multiplicative units", 1980, 1999,
        "Feature integration, saliency maps and winner-take-all circuits; sigma-pi units, dynamic links and fast weights."),
    Era("Glimpses and kernels", 2000, 2013,
        "Edge-preserving filters and non-local means; learned glimpses; Graves' soft windows and transducers."),
    Era("Alignment and memory", 2014, 2016,
        "Soft alignment for translation, Neural Turing Machines, Memory Networks and attention over images."),
    Era("Attention is all you need", 2017, 2019,
        "Self-attention becomes the architecture: the Transformer, pretrained language models, graph and set attention."),
    Era("Efficient attention", 2020, 2022,
        "Linear, low-rank, hashed and IO-aware attention; modern Hopfield networks; attention at every scale."),
    Era("Attention at inference scale", 2023, 9999,
        "Key-value caches shared, paged, windowed and compressed; sparse attention trained in; linear attention returns as decaying and delta-rule recurrences."),
)


def era_of(year: int) -> Era:
    return next(era for era in ERAS if era.start <= year <= era.end)
