"""How a dance-single chart is played: which foot hits each step, its tech, its streams, its groove radar.

Pure Python and numpy (no torch, no ``simfile``): the input is a chart's rows (strings over ``0 1 2 3 4 M``,
columns Left, Down, Up, Right; see :mod:`ddc_sm.simfiles.rows`), the time of each row in seconds and, for the
stream and radar figures, its beat.  :func:`ddc_sm.simfiles.dataset.chart_rows` reads them from a simfile
through ``simfile``'s timing.  A *step row* is a row with something to hit (a tap or a hold/roll head); tails
and mines are not steps.

Footing
-------
:func:`assign_feet` gives every step row a foot per hit column, by dynamic programming (Viterbi) over the
player's positions: where each foot stands (one panel, or two at once: a *bracket*, heel and toe, on Left or
Right with Up or Down next to it), which panels each foot holds down, and which foot made the last single
step.  The player starts standing with the left foot on Left and the right foot on Right.  Each move costs
what makes it awkward (the constants below; chosen by hand after ITGmania's step-parity costs, not fitted on
any chart); the cheapest path through the chart is the footing.  The tech is then counted on that footing by
the definitions below, as StepMania players and ITGmania's step-parity work (its ``TechCounts``) name them:

- **crossover**: a foot lands on the far side of the other foot, on the step right after the other foot's, coming
  from another panel: the left foot on Right while the right foot is on Up/Down/Left, or on Up/Down while the
  right foot is on Left (and mirrored).  Panels go left to right as Left < Up = Down < Right, so L-U-R and
  L-D-R with alternating feet are one crossover each (the body turns to face backwards or sideways).
- **footswitch**: a panel hit on one step row and again on the next by the other foot, within
  ``FOOTSWITCH_GAP_S``; counted as a footswitch on Up/Down and as a **sideswitch** on Left/Right (as
  ITGmania counts them: ``footswitches`` excludes sideswitches).
- **jack**: the same foot hits the same panel on two step rows in a row, each of one panel, within
  ``JACK_GAP_S``.  Slower repeats are not jacks.
- **doublestep**: the same foot steps on two step rows in a row, each of one panel, on different panels,
  within ``DOUBLESTEP_GAP_S``, with no hold or roll held in between (a held foot cannot alternate) and no jump
  between them (the two rows are consecutive single steps).
- **bracket**: one foot on two panels at once in a jump (a row of 2+ steps): counted once per such foot.

The gaps are ITGmania's (``TechCounts.cpp``): a jack within 0.176 s (an 8th at 170 BPM), a footswitch within
0.3 s (a 4th at 200 BPM), a doublestep within 0.235 s (an 8th at 128 BPM).

Holds keep a foot pinned: a foot that hits a hold or roll head stays on that panel for every row strictly
between the head and its tail (on the tail's row it is free); while pinned it may tap one more panel only as a
bracket with the held one.  A row the free feet cannot take (both feet held, or a jump beside a held panel
they cannot reach) lets go of the holds for that row at a high cost, so every chart gets a footing.  A head
without a tail is a tap.  Mines are not stepped on and cost nothing here.

Costs of a move (``dt`` is the time since the previous step row, in seconds):

- *travel* (stretch): each moving foot, the distance its centre moves (panels at Left (0, 1), Down (1, 0),
  Up (1, 2), Right (2, 1); a bracket's centre is between its panels) times ``TRAVEL`` / ``dt``;
- *crossover*: ``CROSSOVER`` for landing on the far side of the other foot (``CROSSED_JUMP`` for both feet
  jumping into a crossed stance), plus ``CROSSED`` for every row spent crossed; ``FACING`` for the feet on Up and Down (body sideways);
- *doublestep*: ``DOUBLESTEP`` (as defined above) up to ``DOUBLESTEP_GAP_S``, falling to ``SLOW_DOUBLESTEP`` at
  twice that gap (0.47 s, a quarter at 128 BPM) and beyond: with time to spare a player steps with the nearer
  foot rather than crossing over (ITGmania's cost stays high, so it counts crossovers on slow Beginner charts);
- *jack*: rises from 0 at ``JACK_FAST_S`` to ``JACK`` at no gap (fast jacks are hard);
- *footswitch*: stepping on the panel the other foot stands on: ``SIDESWITCH`` on Left/Right; on Up/Down 0
  up to ``SLOW_FOOTSWITCH_S`` and rising to ``FOOTSWITCH`` at twice that (slow footswitches are awkward);
- *bracket*: ``BRACKET``, rising by up to ``SLOW_BRACKET`` beyond ``SLOW_BRACKET_S`` (a slow bracket is a jump
  to most players); ``BRACKET_TAP`` for tapping a panel with the heel or toe of a foot that holds another.

Streams (:func:`stream_stats`) and radar (:func:`radar_values`) are defined in their docstrings.
:func:`pattern_stats` puts everything together for ``ddc-sm stats`` and ``benchmarks/patterns.py``.

Not to be confused with :func:`ddc_sm.simfiles.stats.crossover_patterns`, which counts L-(U|D)-R runs of single
steps without deciding any footing (the guard the beam search uses).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from ddc_sm.simfiles.rows import (COLUMNS, DOWN, HEADS, HOLD_HEAD, LEFT, MINE, RIGHT, ROLL_HEAD, TAIL, UP,
                                  TAP, normalise_row, note_value, step_columns)

# ---- tech count gaps (ITGmania's TechCounts.cpp), seconds -------------------------------------------------
JACK_GAP_S = 0.176
FOOTSWITCH_GAP_S = 0.3
DOUBLESTEP_GAP_S = 0.235

# ---- costs of the footing (design choices after ITGmania's StepParityCost; not fitted) ----------------------
TRAVEL = 5.0  # per panel of distance, divided by the gap in seconds
MIN_GAP_S = 0.04  # gaps shorter than this cost as much travel as this (simultaneous-ish rows)
FIRST_GAP_S = 1.0  # the gap before the first step (the player walks on)
CROSSOVER = 60.0
CROSSED = 10.0
CROSSED_JUMP = 300.0
FACING = 5.0
DOUBLESTEP, SLOW_DOUBLESTEP = 800.0, 30.0
JACK, JACK_FAST_S = 400.0, 0.1
SIDESWITCH = 130.0
FOOTSWITCH, SLOW_FOOTSWITCH_S = 300.0, 0.2
BRACKET, SLOW_BRACKET, SLOW_BRACKET_S = 20.0, 300.0, 0.15
BRACKET_TAP = 200.0
LET_GO = 2000.0  # a row that only fits by letting go of a hold

FEET = ("L", "R")
PANEL_XY = {LEFT: (0.0, 1.0), DOWN: (1.0, 0.0), UP: (1.0, 2.0), RIGHT: (2.0, 1.0)}
SIDE_PANELS = frozenset((LEFT, RIGHT))
# the two panels one foot can take at once: its own side panel with Up or Down
BRACKET_PAIRS = {"L": frozenset({(LEFT, DOWN), (LEFT, UP)}), "R": frozenset({(DOWN, RIGHT), (UP, RIGHT)})}
START = ((LEFT,), (RIGHT,))  # standing position: left foot on Left, right foot on Right

TECH = ("crossovers", "footswitches", "sideswitches", "jacks", "brackets", "doublesteps")


@dataclass(frozen=True)
class TechCounts:
    """Tech of a chart's footing (definitions in the module docstring); ``steps`` is its number of step rows."""

    steps: int = 0
    crossovers: int = 0
    footswitches: int = 0
    sideswitches: int = 0
    jacks: int = 0
    brackets: int = 0
    doublesteps: int = 0

    def per_100(self) -> dict[str, float]:
        """Each count per 100 step rows (0 for a chart without steps)."""
        return {k: (100.0 * getattr(self, k) / self.steps if self.steps else 0.0) for k in TECH}

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Footing:
    """The footing of a chart: for each step row (``step_rows`` are their indices in the rows given), one
    character per column, ``L`` or ``R`` for the foot that hits it, ``.`` for none; its tech; its total cost."""

    step_rows: list[int]
    feet: list[str]
    counts: TechCounts
    cost: float
    events: list[tuple[int, str]]  # (row index, tech name) for each counted tech, in order


# ---- the rows' holds --------------------------------------------------------------------------------------
def _hold_spans(rows: Sequence[str]) -> list[tuple[int, int, int]]:
    """(column, head row, tail row) of each hold/roll closed by a tail; a head without a tail is a tap."""
    spans, open_at = [], {}
    for i, row in enumerate(rows):
        for c, ch in enumerate(row[:COLUMNS]):
            if ch in HEADS:
                open_at[c] = i
            elif ch == TAIL and c in open_at:
                spans.append((c, open_at.pop(c), i))
    return spans


def _prepare(rows: Sequence[str], times: Sequence[float]):
    rows = [normalise_row(r) for r in rows]
    times = [float(t) for t in times]
    if len(times) != len(rows):
        raise ValueError(f"{len(rows)} rows but {len(times)} times")
    steps = [i for i, r in enumerate(rows) if step_columns(r)]
    spans = _hold_spans(rows)
    held_through = []  # per step row: columns held strictly across it (head before, tail after)
    held_since_previous = []  # per step row: a hold is down at some moment since the previous step row
    for k, i in enumerate(steps):
        held_through.append(frozenset(c for c, h, t in spans if h < i < t))
        prev = steps[k - 1] if k else None
        held_since_previous.append(prev is not None and any(h <= prev < t for _, h, t in spans))
    closed_heads = {(c, h) for c, h, _ in spans}
    return rows, times, steps, held_through, held_since_previous, closed_heads


# ---- positions ----------------------------------------------------------------------------------------------
def _centre(panels: tuple[int, ...]) -> tuple[float, float]:
    xs, ys = zip(*(PANEL_XY[p] for p in panels))
    return sum(xs) / len(xs), sum(ys) / len(ys)


_CENTRES = {}
for _p in range(COLUMNS):
    _CENTRES[(_p,)] = _centre((_p,))
for _foot in FEET:
    for _pair in BRACKET_PAIRS[_foot]:
        _CENTRES[_pair] = _centre(_pair)


def _distance(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    (ax, ay), (bx, by) = _CENTRES[a], _CENTRES[b]
    return math.hypot(ax - bx, ay - by)


def _assignments(cols: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every way to share a row's columns between the feet: (left's columns, right's columns), each foot one
    panel or a bracket pair."""
    out = []
    for mask in range(1 << len(cols)):
        left = tuple(c for b, c in enumerate(cols) if mask >> b & 1)
        right = tuple(c for b, c in enumerate(cols) if not mask >> b & 1)
        if all(len(a) <= 1 or (len(a) == 2 and a in BRACKET_PAIRS[f]) for f, a in zip(FEET, (left, right))):
            out.append((left, right))
    return out


_ASSIGNMENTS: dict[tuple[int, ...], list] = {}


def _ramp(x: float, start: float, width: float) -> float:
    """0 up to ``start``, rising linearly to 1 at ``start + width``, 1 beyond."""
    return min(1.0, max(0.0, (x - start) / width))


def _move(state, hits, cols, heads, held, held_since_previous, dt, let_go):
    """The state after a row and its cost, or None when the feet cannot take the row this way.

    ``state`` = (left position, right position, left's held panels, right's held panels, foot of the last
    single step or ''); ``hits`` = (left's columns, right's columns) on this row.
    """
    pos, pins, last = [state[0], state[1]], [state[2], state[3]], state[4]
    if let_go:
        pins = [(), ()]
    else:
        pins = [tuple(c for c in p if c in held) for p in pins]
    gap = FIRST_GAP_S if dt is None else max(dt, MIN_GAP_S)
    cost = LET_GO if let_go else 0.0
    new_pos, new_pins = list(pos), list(pins)
    moved = [bool(hits[0]), bool(hits[1])]
    for f in (0, 1):
        a = hits[f]
        if not a:
            continue
        if pins[f]:
            if len(pins[f]) != 1 or len(a) != 1:
                return None
            pair = tuple(sorted(pins[f] + a))
            if pair not in BRACKET_PAIRS[FEET[f]]:
                return None
            new_pos[f] = pair
            cost += BRACKET_TAP
        else:
            new_pos[f] = a
            if len(a) == 2:
                cost += BRACKET + (0.0 if dt is None else SLOW_BRACKET * _ramp(dt, SLOW_BRACKET_S, SLOW_BRACKET_S))
        new_pins[f] = tuple(sorted(set(pins[f]) | {c for c in a if c in heads}))
        cost += TRAVEL * _distance(pos[f], new_pos[f]) / gap
        other = pos[1 - f]
        for c in a:  # the other foot stands there: it has to step off for this foot (a footswitch)
            if c in other and not moved[1 - f]:
                if c in SIDE_PANELS:
                    cost += SIDESWITCH
                else:
                    cost += FOOTSWITCH * (1.0 if dt is None else _ramp(dt, SLOW_FOOTSWITCH_S, SLOW_FOOTSWITCH_S))
    single = len(cols) == 1
    if single:
        f = 0 if moved[0] else 1
        if last == FEET[f] and not pins[f]:
            if new_pos[f] == pos[f]:  # jack
                if dt is not None and dt < JACK_FAST_S:
                    cost += JACK * (JACK_FAST_S - dt) / JACK_FAST_S
            elif not (pins[0] or pins[1] or held_since_previous):
                slow = 0.0 if dt is None else _ramp(dt, DOUBLESTEP_GAP_S, DOUBLESTEP_GAP_S)
                cost += DOUBLESTEP - (DOUBLESTEP - SLOW_DOUBLESTEP) * slow
    new_last = FEET[0 if moved[0] else 1] if single else ""
    (lx, _), (rx, _) = _CENTRES[new_pos[0]], _CENTRES[new_pos[1]]
    if lx > rx + 1e-9:
        cost += CROSSED + (CROSSOVER if moved[0] != moved[1] else CROSSED_JUMP)
    elif abs(lx - rx) < 1e-9:
        cost += FACING
    return (new_pos[0], new_pos[1], new_pins[0], new_pins[1], new_last), cost


def assign_feet(rows: Sequence[str], times: Sequence[float]) -> Footing:
    """The cheapest footing of a chart (see the module docstring) and its tech.

    ``rows``: every row of the chart in order (rows without steps, such as tails and mines, may be included:
    they are needed to know where holds end); ``times``: the time of each row in seconds, non-decreasing.
    """
    rows, times, steps, held_through, held_since_previous, closed_heads = _prepare(rows, times)
    start = (START[0], START[1], (), (), "")
    layers: list[dict] = []  # per step row: state -> (cost, previous state, hits)
    frontier = {start: (0.0, None, None)}
    for k, i in enumerate(steps):
        cols = tuple(step_columns(rows[i]))
        heads = frozenset(c for c in cols if rows[i][c] in HEADS and (c, i) in closed_heads)
        dt = times[i] - times[steps[k - 1]] if k else None
        options = _ASSIGNMENTS.get(cols)
        if options is None:
            options = _ASSIGNMENTS[cols] = _assignments(cols)
        layer: dict = {}
        for let_go in (False, True):
            for state, (base, _, _) in frontier.items():
                for hits in options:
                    moved = _move(state, hits, cols, heads, held_through[k], held_since_previous[k], dt, let_go)
                    if moved is None:
                        continue
                    new_state, cost = moved
                    total = base + cost
                    if new_state not in layer or total < layer[new_state][0] - 1e-9:
                        layer[new_state] = (total, state, hits)
            if layer:
                break
        layers.append(layer)
        frontier = layer
    feet: list[str] = []
    total_cost = 0.0
    if layers:
        state = min(frontier, key=lambda s: (frontier[s][0], repr(s)))
        total_cost = frontier[state][0]
        for layer in reversed(layers):
            _, previous, (left, right) = layer[state]
            marks = ["."] * COLUMNS
            for c in left:
                marks[c] = "L"
            for c in right:
                marks[c] = "R"
            feet.append("".join(marks))
            state = previous
        feet.reverse()
    counts, events = _count(rows, times, steps, feet, held_since_previous)
    return Footing(steps, feet, counts, total_cost, events)


# ---- counting the tech of a footing ------------------------------------------------------------------------
def tech_counts(rows: Sequence[str], times: Sequence[float], feet: Sequence[str]) -> TechCounts:
    """The tech (module docstring) of a given footing: ``feet`` has one string per step row of ``rows``, a
    character per column (``L``/``R`` on each hit column, anything else elsewhere)."""
    rows, times, steps, _, held_since_previous, _ = _prepare(rows, times)
    if len(feet) != len(steps):
        raise ValueError(f"{len(steps)} step rows but feet for {len(feet)}")
    return _count(rows, times, steps, list(feet), held_since_previous)[0]


def _count(rows, times, steps, feet, held_since_previous) -> tuple[TechCounts, list[tuple[int, str]]]:
    events: list[tuple[int, str]] = []
    pos = {"L": START[0], "R": START[1]}
    prev_hits: Optional[dict[str, tuple[int, ...]]] = None
    prev_time = None
    for k, i in enumerate(steps):
        cols = step_columns(rows[i])
        hits = {f: tuple(c for c in cols if feet[k][c] == f) for f in FEET}
        before = dict(pos)
        for f in FEET:
            if hits[f]:
                pos[f] = hits[f]
        if len(cols) >= 2:
            events += [(i, "brackets") for f in FEET if len(hits[f]) >= 2]
        if prev_hits is not None:
            dt = times[i] - prev_time
            single_now = [f for f in FEET if hits[f]]
            single_prev = [f for f in FEET if prev_hits[f]]
            if len(cols) == 1 and sum(len(v) for v in prev_hits.values()) == 1 and single_now == single_prev:
                f = single_now[0]
                if hits[f] == prev_hits[f]:
                    if dt < JACK_GAP_S:
                        events.append((i, "jacks"))
                elif dt < DOUBLESTEP_GAP_S and not held_since_previous[k]:
                    events.append((i, "doublesteps"))
            if dt < FOOTSWITCH_GAP_S:
                for f in FEET:
                    for c in hits[f]:
                        other = "R" if f == "L" else "L"
                        if c in prev_hits[other] and c not in prev_hits[f]:
                            events.append((i, "sideswitches" if c in SIDE_PANELS else "footswitches"))
            if len(single_now) == 1 and single_prev == ["R" if single_now[0] == "L" else "L"]:
                f = single_now[0]
                other = "R" if f == "L" else "L"
                fx, ox = _CENTRES[pos[f]][0], _CENTRES[pos[other]][0]
                beyond = fx > ox + 1e-9 if f == "L" else fx < ox - 1e-9
                if beyond and pos[f] != before[f]:
                    events.append((i, "crossovers"))
        prev_hits, prev_time = hits, times[i]
    n = {k: sum(1 for _, e in events if e == k) for k in TECH}
    return TechCounts(steps=len(steps), **n), events


# ---- streams ------------------------------------------------------------------------------------------------
STREAM_MEASURE_STEPS = 16  # a measure with at least this many step rows is a stream measure (16ths)
MIN_RUN_STEPS = 8  # runs shorter than this are not counted as runs (but count for the longest)
NPS_WINDOW_S = 2.0


@dataclass(frozen=True)
class StreamStats:
    """Streams and density of a chart; see :func:`stream_stats`."""

    longest_stream: int  # step rows in the longest run of 16ths
    longest_8th_run: int
    runs_16th: int  # runs of 16ths of at least MIN_RUN_STEPS step rows
    runs_8th: int
    stream_measures: int
    breakdown: str
    measures: int  # from the first step's measure to the last step's, both included
    rest_measures: int
    rest_share: float
    nps_peak: float
    note_values: dict[int, float]  # share of step rows per note value (4, 8, 12, 16, 24, 32, 48, 64, 192)

    def to_dict(self) -> dict:
        return asdict(self)


def _beats_of(rows, beats, times, bpm, offset) -> list[Fraction]:
    if beats is not None:
        if len(beats) != len(rows):
            raise ValueError(f"{len(rows)} rows but {len(beats)} beats")
        return [b if isinstance(b, Fraction) else Fraction(float(b)).limit_denominator(192) for b in beats]
    if times is None or bpm is None:
        raise ValueError("stream statistics need beats, or times with the chart's BPM")
    return [Fraction((float(t) + offset) * float(bpm) / 60.0).limit_denominator(192) for t in times]


def _runs(step_beats: Sequence[Fraction], gap: Fraction) -> list[int]:
    """Lengths (step rows) of the maximal runs in which each step is ``gap`` beats after the previous one."""
    runs, length = [], 1 if step_beats else 0
    for a, b in zip(step_beats, step_beats[1:]):
        if b - a == gap:
            length += 1
        else:
            runs.append(length)
            length = 1
    if length:
        runs.append(length)
    return [r for r in runs if r >= 2]


def breakdown_text(stream: Sequence[bool]) -> str:
    """rssp/Simply Love style breakdown of stream measures: ``16 (4) 8`` is 16 stream measures, a 4-measure
    break, 8 stream measures; breaks before the first and after the last stream are left out.  ``-`` for none.
    """
    parts, i, n = [], 0, len(stream)
    while i < n:
        j = i
        while j < n and stream[j] == stream[i]:
            j += 1
        parts.append((stream[i], j - i))
        i = j
    while parts and not parts[0][0]:
        parts.pop(0)
    while parts and not parts[-1][0]:
        parts.pop()
    return " ".join(str(k) if s else f"({k})" for s, k in parts) or "-"


def stream_stats(rows: Sequence[str], beats: Optional[Sequence] = None, times: Optional[Sequence[float]] = None,
                 bpm: Optional[float] = None, offset: float = 0.0) -> StreamStats:
    """Streams, rests and density of a chart.

    Beats come from ``beats`` (Fractions or floats, one per row) or, without them, from ``times`` at a constant
    ``bpm`` (beat 0 at ``-offset`` seconds, StepMania's #OFFSET).  Only step rows count (a jump is one step).

    - runs: a *run of 16ths* is a maximal sequence of step rows each a 16th (1/4 beat) after the previous one;
      of 8ths, 1/2 beat.  ``longest_stream`` is the longest run of 16ths in step rows (0 without 16ths),
      ``runs_16th``/``runs_8th`` count the runs of at least ``MIN_RUN_STEPS`` step rows;
    - measures are 4 beats from beat 0; a *stream measure* has at least ``STREAM_MEASURE_STEPS`` step rows, and
      ``breakdown`` lists them the rssp/Simply Love way (:func:`breakdown_text`);
    - rest: ``rest_share`` is the share of measures without a step between the first and the last step's
      measures (both included);
    - ``nps_peak``: the most step rows in any ``NPS_WINDOW_S``-second window (from a step), over its length
      (needs ``times``; 0 without them);
    - ``note_values``: share of step rows on each note value (4th, 8th, 12th, ... by the beat's fraction,
      :func:`ddc_sm.simfiles.rows.note_value`).
    """
    rows = [normalise_row(r) for r in rows]
    beat_list = _beats_of(rows, beats, times, bpm, offset)
    idx = [i for i, r in enumerate(rows) if step_columns(r)]
    step_beats = [beat_list[i] for i in idx]
    runs16 = _runs(step_beats, Fraction(1, 4))
    runs8 = _runs(step_beats, Fraction(1, 2))
    per_measure: dict[int, int] = {}
    for b in step_beats:
        m = math.floor(b / 4)
        per_measure[m] = per_measure.get(m, 0) + 1
    if per_measure:
        first, last = min(per_measure), max(per_measure)
        span = range(first, last + 1)
        measures = len(span)
        rest = sum(1 for m in span if m not in per_measure)
        stream = [per_measure.get(m, 0) >= STREAM_MEASURE_STEPS for m in span]
    else:
        measures, rest, stream = 0, 0, []
    nps = 0.0
    if times is not None and idx:
        t = np.asarray([float(times[i]) for i in idx])
        ends = np.searchsorted(t, t + NPS_WINDOW_S, side="left")
        nps = float(np.max(ends - np.arange(len(t)))) / NPS_WINDOW_S
    values: dict[int, float] = {}
    for b in step_beats:
        v = note_value(b)
        values[v] = values.get(v, 0) + 1
    return StreamStats(
        longest_stream=max(runs16, default=0), longest_8th_run=max(runs8, default=0),
        runs_16th=sum(r >= MIN_RUN_STEPS for r in runs16), runs_8th=sum(r >= MIN_RUN_STEPS for r in runs8),
        stream_measures=sum(stream), breakdown=breakdown_text(stream), measures=measures, rest_measures=rest,
        rest_share=rest / measures if measures else 0.0, nps_peak=nps,
        note_values={v: c / len(step_beats) for v, c in sorted(values.items())})


# ---- groove radar ---------------------------------------------------------------------------------------------
RADAR = ("stream", "voltage", "air", "freeze", "chaos")
NOTE_CHARS = frozenset((TAP, HOLD_HEAD, ROLL_HEAD, MINE))  # what makes a row for chaos (tails do not)
VOLTAGE_WINDOW_BEATS = 8


def radar_values(rows: Sequence[str], beats: Sequence, song_seconds: float) -> dict[str, float]:
    """StepMania 5's groove radar of a chart (``NoteDataUtil::CalculateRadarValues``), unclamped as it stores
    them (its radar display clips them to 0..1).

    ``song_seconds`` is the music's length (StepMania's ``m_fMusicLengthSeconds``).  *Notes* are taps and
    hold/roll heads, each column counted (a jump is 2 notes); *jumps* are rows with 2 or more notes.

    - stream = notes / seconds / 7;
    - voltage = (the most notes in any 8-beat window, ``[b - 8, b]`` for a note at beat b) / 8 × (last beat /
      seconds) / 10, where the last beat is the chart's last row, a hold's tail included (StepMania pretends the
      beats are evenly spaced over the song);
    - air = jumps / seconds;  freeze = holds (not rolls; heads closed by a tail) / seconds;
    - chaos = rows with any note (a mine too, not a tail) off the 4th/8th grid (12ths and finer) / seconds × 0.5.

    All are 0 when ``song_seconds`` is not positive.  StepMania skips notes in warps (unjudgable rows); these
    rows carry no timing, so nothing is skipped here.
    """
    rows = [normalise_row(r) for r in rows]
    beat_list = _beats_of(rows, beats, None, None, 0.0)
    if not rows or not song_seconds or song_seconds <= 0:
        return {k: 0.0 for k in RADAR}
    closed = {(c, h) for c, h, _ in _hold_spans(rows)}
    notes = jumps = holds = chaos = 0
    window: list[Fraction] = []
    start = most = 0
    for i, (row, beat) in enumerate(zip(rows, beat_list)):
        hit = step_columns(row)
        notes += len(hit)
        jumps += len(hit) >= 2
        holds += sum(1 for c in hit if row[c] == HOLD_HEAD and (c, i) in closed)
        if any(ch in NOTE_CHARS for ch in row) and note_value(beat) not in (4, 8):
            chaos += 1
        for _ in hit:
            window.append(beat)
        while start < len(window) and window[start] < beat - VOLTAGE_WINDOW_BEATS:
            start += 1
        most = max(most, len(window) - start)
    seconds = float(song_seconds)
    last_beat = float(max(beat_list))
    return {
        "stream": notes / seconds / 7.0,
        "voltage": (most / VOLTAGE_WINDOW_BEATS) * (last_beat / seconds) / 10.0,
        "air": jumps / seconds,
        "freeze": holds / seconds,
        "chaos": chaos / seconds * 0.5,
    }


# ---- everything together ------------------------------------------------------------------------------------
def pattern_stats(rows: Sequence[str], times: Sequence[float], beats: Sequence,
                  song_seconds: Optional[float] = None) -> dict:
    """A chart's footing tech (counts and per 100 steps), streams and, given the song's length, radar values:
    ``{"steps", "tech": {...}, "tech_per_100": {...}, "stream": StreamStats.to_dict(), "radar": {...} | None}``."""
    footing = assign_feet(rows, times)
    return {
        "steps": footing.counts.steps,
        "tech": {k: getattr(footing.counts, k) for k in TECH},
        "tech_per_100": footing.counts.per_100(),
        "stream": stream_stats(rows, beats=beats, times=times).to_dict(),
        "radar": radar_values(rows, beats, song_seconds) if song_seconds else None,
    }

