"""Sequential seed designs: ``{min: m, max: M, step: s}`` in a space (DESIGN 3.10).

A design runs ``m`` seeds first, then adds ``s`` seeds at a time to the cells whose verdict is still
undecided, up to ``M``. The verdict is looked at after each batch: the looks are at ``m, m + s, ...,
M`` seeds. ``analysis.sequential`` turns a design into the per-look significance levels that keep the
error rates over all looks at or below alpha. Torch-free; rows carry a design as :attr:`SeedDesign.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SeedDesign"]

_TEXT = re.compile(r"(\d+)-(\d+)/(\d+)")


@dataclass(frozen=True, slots=True)
class SeedDesign:
    """``min`` seeds first, then batches of ``step`` more while a cell is undecided, at most ``max``."""

    min: int
    max: int
    step: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.max or self.step < 1:
            raise ValueError(f"seed design: got min {self.min}, max {self.max}, step {self.step}, expected "
                             "1 <= min <= max and step >= 1")

    @property
    def sequential(self) -> bool:
        """More than one look (a fixed number of seeds has one)."""
        return self.max > self.min

    def looks(self) -> tuple[int, ...]:
        """The seed counts at which the verdict is looked at: min, min + step, ..., max."""
        out = list(range(self.min, self.max, self.step))
        return (*out, self.max)

    def look(self, n: int) -> int:
        """The index of the last look at or below ``n`` seeds (0 below ``min``; the last one above ``max``)."""
        return max(0, sum(1 for k in self.looks() if k <= n) - 1)

    def next_count(self, n: int) -> int | None:
        """The seed count of the look after ``n`` seeds, or None when ``n`` has reached ``max``."""
        return next((k for k in self.looks() if k > n), None)

    @property
    def text(self) -> str:
        """``"min-max/step"``, the form a result row's ``seeds_design`` column holds."""
        return f"{self.min}-{self.max}/{self.step}"

    @classmethod
    def parse(cls, text: object) -> SeedDesign | None:
        """The design of a ``seeds_design`` value; None for a missing or empty one (a fixed number of seeds)."""
        if not isinstance(text, str) or not text:
            return None
        m = _TEXT.fullmatch(text.strip())
        if m is None:
            raise ValueError(f"seeds_design: got {text!r}, expected 'min-max/step', e.g. '2-5/1'")
        return cls(int(m[1]), int(m[2]), int(m[3]))
