"""A chart's meter (the number players read as its difficulty) from its step density.

meter ≈ 1.2 + 1.78 × steps per second, bounded per difficulty name so that a Beginner chart never reads like a
Hard one.  The line is the least-squares fit of #METER on ``steps_per_second`` of the train+valid human charts
of ``../shared/data`` (never test; all difficulties pooled: 1.167 + 1.781 x), rounded to 0.1 and 0.01 -- the same
values as the first fit on all songs.  Regenerate: ``python benchmarks/fit_constants.py``.
"""

from __future__ import annotations

from typing import Sequence

from ddc_sm.difficulty import DIFFICULTIES

# A design choice, not fitted: the meters a difficulty's name promises players (StepMania's usual ranges).
METER_RANGE = {"Beginner": (1, 3), "Easy": (2, 5), "Medium": (4, 8), "Hard": (6, 11), "Challenge": (8, 15)}
INTERCEPT, SLOPE = 1.2, 1.78  # train+valid fit, see above: python benchmarks/fit_constants.py


def steps_per_second(times: Sequence[float]) -> float:
    if len(times) < 2:
        return 0.0
    span = float(times[-1]) - float(times[0])
    return (len(times) - 1) / span if span > 0 else 0.0


def estimate_meter(difficulty: str, times: Sequence[float]) -> int:
    lo, hi = METER_RANGE[difficulty]
    return int(min(hi, max(lo, round(INTERCEPT + SLOPE * steps_per_second(times)))))


def monotone_meters(meters: dict[str, int]) -> dict[str, int]:
    """Raise meters where needed so that a harder difficulty never has a lower meter than an easier one."""
    out, floor = {}, 1
    for name in DIFFICULTIES:
        if name in meters:
            out[name] = max(meters[name], floor)
            floor = out[name]
    return out
