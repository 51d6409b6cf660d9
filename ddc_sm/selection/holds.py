"""Where a generated hold lets go: released before the next step, as charters write it.

Step selection gives every placed step one row, so a hold's tail can only land on a placed step: on the row of
the next step (the foot lets go as the other one lands) or on a tail-only row that takes a placed step's place.
Charters often release a hold before the next step instead, on a row of its own: in the train+valid human
charts a tail shares its row with a step for 21% (Beginner), 41%, 46%, 51% and 52% (Challenge) of the tails,
while the charts the package wrote without this step shared 57%, 64%, 81%, 79% and 76% of theirs (on the 10
valid and 10 train songs of ``benchmarks/hold_tails.py``), which the musicality critic holds against them.

:func:`release_tails` moves such a tail back by ``RELEASE_BEATS`` of its difficulty, onto a row of its own, where
there is room (:func:`release_class`: the released hold is still at least ``MIN_HOLD_BEATS`` long and the new
tail comes after every other row since the head, so nothing else moves and no two rows merge), with the chance
a human charter of that difficulty releases such a hold (``RELEASE_CHANCE``, by class: the step is a jump; the
hold spans ``LONG_SPAN_BEATS`` or more from head to step; a shorter one), drawn from a generator seeded with the
chart's seed.  The step times, the steps and every other arrow stay as they are; only tails move.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ddc_sm.simfiles.rows import COLUMNS, EMPTY, EMPTY_ROW, HEADS, TAIL, step_columns

# How far before the step a released tail lets go, in beats: the median gap from a tail on a row of its own
# to the next step in the train+valid human charts (benchmarks/hold_tails.py prints it).
RELEASE_BEATS = {"Beginner": Fraction(1), "Easy": Fraction(1, 2), "Medium": Fraction(1, 2),
                 "Hard": Fraction(1, 2), "Challenge": Fraction(1, 2)}
# The shortest hold a release may leave, in beats: about the 10th percentile of the train+valid human holds'
# lengths (benchmarks/hold_tails.py).
MIN_HOLD_BEATS = {"Beginner": Fraction(1, 2), "Easy": Fraction(1, 2), "Medium": Fraction(1, 2),
                  "Hard": Fraction(1, 4), "Challenge": Fraction(1, 4)}
# Holds from head to step at least this long (beats) are "long": charters release those more often.  Chosen, not
# fitted: the shortest span over a beat on the grids charters use; of the train+valid human holds with room,
# charters release 67-88% of the long ones and 30-51% of the shorter ones (`python benchmarks/hold_tails.py`).
LONG_SPAN_BEATS = Fraction(3, 2)
# The share of holds with room for a release that the train+valid human charts release before the next step, by
# release_class: `python benchmarks/hold_tails.py` prints it.
RELEASE_CHANCE = {
    "Beginner": {"jump": 1.00, "long": 0.88, "short": 0.00},
    "Easy": {"jump": 0.99, "long": 0.67, "short": 0.51},
    "Medium": {"jump": 0.92, "long": 0.68, "short": 0.40},
    "Hard": {"jump": 0.91, "long": 0.67, "short": 0.30},
    "Challenge": {"jump": 0.91, "long": 0.70, "short": 0.41},
}
RELEASE_CLASSES = ("jump", "long", "short")


def release_class(head: Fraction, step: Fraction, before: Fraction, step_row: str, difficulty: str) -> str | None:
    """Whether a hold opened at beat ``head`` could let go before the step row ``step_row`` at beat ``step``, the
    latest other row since the head being at beat ``before``: None when there is no room (see the module's
    docstring), else its class in ``RELEASE_CLASSES``."""
    new = step - RELEASE_BEATS[difficulty]
    if new - head < MIN_HOLD_BEATS[difficulty] or new <= before:
        return None
    if len(step_columns(step_row)) >= 2:
        return "jump"
    return "long" if step - head >= LONG_SPAN_BEATS else "short"


def release_tails(beats: Sequence[Fraction], rows: Sequence[str], difficulty: str, seed: int = 0,
                  chance: dict[str, float] | None = None) -> tuple[list[Fraction], list[str]]:
    """``(beats, rows)`` of a chart (non-empty rows in beat order, holds well-formed) with the tails that share a
    row with a step released before it, each with ``RELEASE_CHANCE[difficulty]`` of its class (``chance``
    overrides it); ``seed`` seeds the draws (with the difficulty), so the same chart and seed give the same
    result."""
    import numpy as np

    from ddc_sm.difficulty import DIFFICULTIES

    release = RELEASE_BEATS[difficulty]
    chance = RELEASE_CHANCE[difficulty] if chance is None else chance
    rng = np.random.default_rng([seed, DIFFICULTIES.index(difficulty)])
    beats = [Fraction(b) for b in beats]
    rows = list(rows)
    heads: dict[int, int] = {}  # column -> index of the row whose head opened its hold
    moves: dict[int, list[int]] = {}  # row index -> columns whose tail leaves it
    for i, row in enumerate(rows):
        for c, ch in enumerate(row[:COLUMNS]):
            if ch == TAIL and c in heads:
                h = heads.pop(c)
                if not step_columns(row):
                    continue
                kind = release_class(beats[h], beats[i], beats[i - 1], row, difficulty)
                if kind is not None and rng.random() < chance[kind]:
                    moves.setdefault(i, []).append(c)
            elif ch in HEADS:
                heads[c] = i
    if not moves:
        return beats, rows
    out: list[tuple[Fraction, str]] = []
    for i, (beat, row) in enumerate(zip(beats, rows)):
        cols = moves.get(i)
        if cols:
            out.append((beat - release, "".join(TAIL if c in cols else EMPTY for c in range(COLUMNS))))
            row = "".join(EMPTY if c in cols else ch for c, ch in enumerate(row))
        if row != EMPTY_ROW:
            out.append((beat, row))
    return [b for b, _ in out], [r for _, r in out]
