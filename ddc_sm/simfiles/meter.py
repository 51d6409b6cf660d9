"""A chart's meter (the number players read as its difficulty): a small regressor on the chart's statistics, and
the meters of a song's charts made strictly increasing with difficulty.

Estimate
--------
:func:`estimate_meter` is a linear model on a few statistics of the chart (``FEATURES``, computed by
:func:`meter_features` from :mod:`ddc_sm.simfiles.stats` and :mod:`ddc_sm.simfiles.footing`) plus an offset per
difficulty (``OFFSETS``; the difficulty is an input):

    meter ≈ OFFSETS[difficulty] + Σ COEFFICIENTS[f] × feature f

The features, offsets and coefficients are fitted on the train+valid human charts of ``../shared/data``
(``ddc_sm/simfiles/split_shared_data.json``; never test): the features chosen by forward selection on the mean
absolute error of a 10-fold cross-validation by song, the coefficients by least absolute deviations (the
figure is a mean absolute error, and human meters have a few joke outliers) with a small ridge.  Regenerate and
score them (cross-validated on train+valid, and on the test charts): ``python benchmarks/meters.py``.

Written meters
--------------
:func:`song_meters` turns the estimates of the charts a run writes into whole meters, with the existing charts'
meters (``make --add``) fixed.  Among all choices of whole meters (1 and up), it takes the best by these rules,
each before the next:

1. *order*: no new chart reads lower than an easier chart or higher than a harder one (existing or new); where
   existing charts are themselves out of order, as few such pairs as possible;
2. *strictly increasing*: as few ties as possible (a new chart with the same meter as an existing chart of
   another difficulty, or as the new chart of the next easier difficulty among those written);
3. *ranges*: as little outside ``METER_RANGE[difficulty]`` as possible (summed over the new charts, in meter
   steps);
4. *nearest*: the smallest sum of ``|meter - estimate|`` over the new charts (of equally near, the lower meters).

The ranges overlap enough (Beginner 1, Easy 2, Medium 4, Hard 6, Challenge 8) that the charts of one run always
fit strictly increasing inside them: rules 1-3 are then met exactly and each meter is the nearest to its estimate
that keeps the order.  Only existing charts can force more: a new chart goes outside its range rather than tie
(a Hodobox Beginner rated 8 gets a new Easy 9, not 5), and it ties only where no whole meter lies strictly
between its neighbours (a new Medium between an existing Easy 4 and Hard 5 gets 4 or 5: the one in its range,
else the nearer to its estimate).  Existing meters are never changed.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

from ddc_sm.difficulty import DIFFICULTIES

# A design choice, not fitted: the meters a difficulty's name promises players (StepMania's usual ranges).
METER_RANGE = {"Beginner": (1, 3), "Easy": (2, 5), "Medium": (4, 8), "Hard": (6, 11), "Challenge": (8, 15)}

# Candidate statistics for the regressor (name -> what it is); see meter_features.  A log is of the value, at
# least LOG_FLOOR.
CANDIDATES = {
    "steps_per_second": "step rows per second from the first step to the last (stats.chart_stats)",
    "log_steps_per_second": "log of steps_per_second",
    "nps_peak": "most step rows in a 2 s window, per second (footing.stream_stats)",
    "log_nps_peak": "log of nps_peak",
    "log_longest_stream": "log(1 + step rows in the longest run of 16ths) (footing.stream_stats)",
    "stream_measure_share": "stream measures (16+ step rows) over measures (footing.stream_stats)",
    "sixteenth_share": "share of step rows on 16th notes (footing.stream_stats)",
    "jump_share": "share of step rows that are jumps (stats.chart_stats)",
    "hold_share": "share of step rows with a hold or roll head (stats.chart_stats)",
    "crossovers_per_100": "crossovers of the footing per 100 step rows (footing.assign_feet)",
    "radar_stream": "groove radar (footing.radar_values; needs the song's length)",
    "radar_voltage": "groove radar (footing.radar_values; needs the song's length)",
    "radar_air": "groove radar (footing.radar_values; needs the song's length)",
    "radar_freeze": "groove radar (footing.radar_values; needs the song's length)",
    "radar_chaos": "groove radar (footing.radar_values; needs the song's length)",
}
LOG_FLOOR = 0.1

# Fitted on the train+valid human charts (never test) by `python benchmarks/meters.py`, which prints these lines
# (refitted 2026-12-03 on the split that keeps each song's versions in one part: 107 songs, 417 charts).
FEATURES = ('log_steps_per_second', 'log_nps_peak', 'stream_measure_share')
OFFSETS = {"Beginner": 0.857, "Easy": 1.192, "Medium": 1.933, "Hard": 2.699, "Challenge": 3.103}
COEFFICIENTS = {"log_steps_per_second": 1.908, "log_nps_peak": 1.923, "stream_measure_share": 3.454}


def meter_features(times: Sequence[float], rows: Sequence[str], beats: Sequence,
                   song_seconds: Optional[float] = None, names: Optional[Sequence[str]] = None) -> dict[str, float]:
    """The ``CANDIDATES`` statistics of a chart (its non-empty rows, their times in seconds and beats, as
    ``make`` writes them or :mod:`ddc_sm.simfiles.dataset` reads them), or only those in ``names``.

    The footing (Viterbi over the whole chart) is computed only when a footing figure is asked for; the radar
    figures need ``song_seconds`` (the music's length) and are left out without it.
    """
    from ddc_sm.simfiles.footing import assign_feet, radar_values, stream_stats
    from ddc_sm.simfiles.stats import chart_stats

    wanted = set(CANDIDATES if names is None else names)
    unknown = wanted - set(CANDIDATES)
    if unknown:
        raise ValueError(f"unknown meter features {sorted(unknown)}")
    rows = list(rows)
    basic = chart_stats(times, rows)
    stream = stream_stats(rows, beats=beats, times=times)
    out = {
        "steps_per_second": basic["steps_per_second"],
        "log_steps_per_second": math.log(max(basic["steps_per_second"], LOG_FLOOR)),
        "nps_peak": stream.nps_peak,
        "log_nps_peak": math.log(max(stream.nps_peak, LOG_FLOOR)),
        "log_longest_stream": math.log1p(stream.longest_stream),
        "stream_measure_share": stream.stream_measures / stream.measures if stream.measures else 0.0,
        "sixteenth_share": stream.note_values.get(16, 0.0),
        "jump_share": basic["jump_share"],
        "hold_share": basic["hold_share"],
    }
    if "crossovers_per_100" in wanted:
        out["crossovers_per_100"] = assign_feet(rows, times).counts.per_100()["crossovers"]
    if song_seconds and any(n.startswith("radar_") for n in wanted):
        out.update({f"radar_{k}": v for k, v in radar_values(rows, beats, song_seconds).items()})
    return {k: v for k, v in out.items() if k in wanted}


def estimate_meter(difficulty: str, times: Sequence[float], rows: Sequence[str], beats: Sequence) -> float:
    """The regressor's meter for a chart of ``difficulty`` (a float; :func:`song_meters` makes it whole)."""
    x = meter_features(times, rows, beats, names=FEATURES)
    return OFFSETS[difficulty] + sum(COEFFICIENTS[f] * x[f] for f in FEATURES)


def _range_excess(difficulty: str, meter: int) -> int:
    lo, hi = METER_RANGE.get(difficulty, (1, math.inf))
    return max(0, lo - meter, meter - hi)


def song_meters(estimates: Mapping[str, float], existing: Optional[Mapping[str, int]] = None) -> dict[str, int]:
    """Whole meters for the new charts ``estimates`` (difficulty -> estimated meter), by the rules in the module
    docstring: in difficulty order, strictly increasing, within ``METER_RANGE``, beside the ``existing`` charts'
    meters (difficulty -> meter; kept as they are; a difficulty in both is not compared with itself)."""
    existing = {d: int(m) for d, m in (existing or {}).items() if d in DIFFICULTIES}
    new = [d for d in DIFFICULTIES if d in estimates]
    if not new:
        return {}
    rank = {d: i for i, d in enumerate(DIFFICULTIES)}
    # every whole meter that can be best lies within len(new) of a breakpoint of the costs
    points = {*range(1, max(hi for _lo, hi in METER_RANGE.values()) + 1), *existing.values(),
              *(int(round(estimates[d])) for d in new)}
    candidates = sorted({p + k for p in points for k in range(-len(new), len(new) + 1) if p + k >= 1})

    def own_cost(d: str, m: int) -> tuple:
        inversions = sum(1 for e, em in existing.items()
                         if (rank[e] < rank[d] and em > m) or (rank[e] > rank[d] and em < m))
        ties = sum(1 for e, em in existing.items() if e != d and em == m)
        return (inversions, ties, _range_excess(d, m), round(abs(m - estimates[d]), 9))

    def add(a: tuple, b: tuple) -> tuple:
        return tuple(x + y for x, y in zip(a, b))

    # dynamic programming over the new charts in difficulty order: best[m] = (cost, meters) with the last at m
    best = {m: (own_cost(new[0], m), [m]) for m in candidates}
    for d in new[1:]:
        step = {}
        for m in candidates:
            own = own_cost(d, m)
            options = []
            for prev, (cost, meters) in best.items():
                pair = (int(m < prev), int(m == prev), 0, 0.0)
                options.append((add(add(cost, own), pair), meters + [m]))
            step[m] = min(options)
        best = step
    _cost, meters = min(best.values())
    return dict(zip(new, meters))
