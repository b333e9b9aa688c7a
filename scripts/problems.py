"""A problem found in the data: where it is, what is wrong, and how to fix it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SHOWN_LENGTH = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def one_line(text: str) -> str:
    """Control characters (newlines above all) escaped, so a message is always one line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def shown(value: Any, limit: int = SHOWN_LENGTH) -> str:
    """A contributor's value as echoed in a message: one line, cut to `limit` characters."""
    text = one_line(str(value)[: limit + 1])  # cut first: a value may be megabytes long
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        return one_line(f"{self.path}:{self.line}: {self.message} — {self.fix}")


class InvalidData(Exception):
    """Raised at the edge (CLI, build) when the data has problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__(format_problems(self.problems))


def format_problems(problems: list[Problem]) -> str:
    lines = [str(p) for p in sorted(problems)]
    noun = "problem" if len(problems) == 1 else "problems"
    lines.append(f"{len(problems)} {noun} found; nothing was built.")
    return "\n".join(lines)
