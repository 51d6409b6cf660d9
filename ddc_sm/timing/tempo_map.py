"""Where a song's tempo really changes: a tempo map (#BPMS with segments) from the audio.

:mod:`ddc_sm.timing.tempo` finds the best *constant* grid.  Most songs keep it: a constant grid that holds the
beats is never replaced.  When it does not hold them (a remix that moves from 93.9 to 101.3 BPM, a live
recording that drifts), this module follows the beat and writes the tempo as a few constant segments:

1. Local tempo: the onset strength of 8 s windows every second (harmonic energy at the beat and its 2nd and 4th
   harmonics) over 0.6-1.6 of the constant tempo, smoothed by a Viterbi path that pays for every change.  The
   range keeps the metrical level: a half-time section (141 -> 70.5 -> 141 in a chart) still has onsets on the
   beats of 141, so it is no change here.
2. Beats: dynamic programming over the onset strength (Ellis 2007): a beat every local period, penalised by the
   squared log of the ratio of its interval to the local period (``TIGHTNESS``); each beat is placed at the
   interpolated peak of the onset strength.
3. Segments: the beat times as a function of the beat count are cut into straight pieces (one tempo each) by
   dynamic programming, each cut paying ``CHANGE_COST`` squared scatters (:func:`beat_scatter`), pieces of at least
   ``MIN_SEGMENT_BEATS``; neighbouring pieces whose lines part by less than ``MERGE_TOL_S`` are merged (tracker
   wobble is no tempo change); the pieces are then fitted as one continuous line of segments (least squares on the
   times of the cuts, so the beat positions run on across a change), and a segment's BPM is rounded to a whole
   or half BPM when that keeps its beats within ``ROUND_TOL_S``.
4. Phase: the whole map is moved in time so that its beats sit on the attacks as the constant estimate places
   them (the short-window onset strength folded by the map's beat phase; ``tempo.LATENCY_S``).
5. The map is tried only when the constant grid holds fewer than ``CONSTANT_HOLDS`` of the tracked beats within
   ``HOLD_TOL_S``, and replaces it only when the audio agrees (:func:`ddc_sm.timing.alignment.grid_alignment`):
   at least ``MIN_GAIN`` fewer of the strong onsets off its 16th notes, one lag holding over as much of the
   song, and a grid that fits (``GridAlignment.fits``: audio without a steady beat gets no map).

Changes are put on whole beats (StepMania's #BPMS allows any beat; charters use whole beats or bars).  Stops,
delays and warps are not estimated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ddc_sm.timing.grid import TempoMap

# Design values (chosen, not fitted), checked on the synthetic step and ramp tracks of `python benchmarks/sync.py
# --synthetic-only` (all within 10 ms at every beat).  MIN_SEGMENT_BEATS (8 / 16), CHANGE_COST (40 / 150) and
# MIN_GAIN (0.05 / 0.1) were compared on the train part only (the constant charts a map makes better / worse
# and the real-change songs it brings to 90 %, as `python benchmarks/sync.py --human-only --part train` prints
# them): the values below did as well as any; no test song was looked at.
WINDOW_S = 8.0
WINDOW_STEP_S = 1.0
TEMPO_SPAN = (0.6, 1.6)  # local tempo searched within this share of the constant one
TEMPO_CHANGE_COST = 2.0  # Viterbi: cost of a tempo change (in units of a window's normalised energy)
TIGHTNESS = 100.0  # Ellis's tightness: beats keep to the local period
BEAT_SCATTER_S = 0.006  # the tracked beats' scatter about a straight piece, when too few beats measure it
MIN_SCATTER_S = 0.0015  # ... and at least this (5 ms frames, interpolated peaks)
CHANGE_COST = 40.0  # a cut costs this many squared scatters
MIN_SEGMENT_BEATS = 8
CLIP_S = 0.03  # a tracked beat farther than this from its piece counts as this far (a tracker slip)
MERGE_TOL_S = 0.005  # a change that moves no beat by more than this is no change
ROUND_TOL_S = 0.005  # a rounded segment BPM keeps every beat of the segment within this of the fitted one
HOLD_TOL_S = 0.012  # a tracked beat within this of a grid's beat is held by it
TRIM_SHARE = 0.3  # leading and trailing beats whose onset is below this share of the median beat's are dropped
MIN_GAIN = 0.05
CONSTANT_HOLDS = 0.85


@dataclass
class TempoMapEstimate:
    """The map (a :class:`ddc_sm.timing.grid.TempoMap`; one segment when the constant grid holds) and figures."""

    timing: TempoMap
    changed: bool  # True when the map has tempo changes (the constant grid did not hold the beats)
    details: dict = field(default_factory=dict)

    def describe(self) -> str:
        """'3 segments: 100 BPM from 0.00 s, 93.88 from 29.00 s, 101.3 from 69.90 s'."""
        seg = self.segments()
        parts = [f"{s['bpm']:g} BPM from {max(s['time'], 0.0):.2f} s" if i == 0 else f"{s['bpm']:g} from {s['time']:.2f} s"
                 for i, s in enumerate(seg)]
        return f"{len(seg)} segment{'s' if len(seg) != 1 else ''}: " + ", ".join(parts)

    def segments(self) -> list[dict]:
        """Per segment: start beat, start time (s), BPM."""
        starts = self.timing.time_at(np.array([b for b, _ in self.timing.bpms]))
        return [{"beat": float(b), "time": round(float(t), 4), "bpm": float(v)}
                for (b, v), t in zip(self.timing.bpms, starts)]


def shifted_map(timing: TempoMap, shift: float) -> TempoMap:
    """``timing`` with every beat ``shift`` seconds later; beat 0 stays at or before time 0 (a bar of the first
    tempo is put in front when it would not be)."""
    offset, bpms = timing.offset - shift, list(timing.bpms)
    bar = 4 * 60.0 / bpms[0][1]
    while offset < 0.0:
        offset += bar
        bpms = [(0.0, bpms[0][1])] + [(b + 4.0, v) for b, v in bpms[1:]]
    return TempoMap(float(offset), tuple(bpms))


def local_tempo(env: np.ndarray, hop_s: float, bpm: float) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times, local BPM): the Viterbi path over windows of ``WINDOW_S`` (see the docstring)."""
    from ddc_sm.timing.tempo import harmonic_energy

    win, step = int(round(WINDOW_S / hop_s)), int(round(WINDOW_STEP_S / hop_s))
    if len(env) <= win:
        return np.array([len(env) * hop_s / 2]), np.array([bpm])
    starts = np.arange(0, len(env) - win + 1, step)
    lo, hi = bpm * TEMPO_SPAN[0], bpm * TEMPO_SPAN[1]
    grid = np.linspace(lo, hi, int(round((hi - lo) / 0.1)) + 1)  # 0.1 BPM steps
    obs = np.empty((len(starts), len(grid)))
    for k, a in enumerate(starts):
        seg = env[a:a + win]
        e = harmonic_energy(seg - seg.mean(), hop_s, grid)
        obs[k] = e / max(float(e.max()), 1e-12)
    # Viterbi: stay (or move 0.1 BPM) for free, any other move pays TEMPO_CHANGE_COST
    n = len(grid)
    cost = -obs[0].copy()
    back = np.zeros((len(starts), n), dtype=np.int64)
    idx = np.arange(n)
    for k in range(1, len(starts)):
        best_j = int(np.argmin(cost))
        stay = np.stack([cost, np.r_[np.inf, cost[:-1]], np.r_[cost[1:], np.inf]])
        s_arg = np.argmin(stay, axis=0)
        s_val = stay[s_arg, idx]
        s_from = idx + np.array([0, -1, 1])[s_arg]
        jump = cost[best_j] + TEMPO_CHANGE_COST
        take_jump = jump < s_val
        back[k] = np.where(take_jump, best_j, s_from)
        cost = np.where(take_jump, jump, s_val) - obs[k]
    path = np.empty(len(starts), dtype=np.int64)
    path[-1] = int(np.argmin(cost))
    for k in range(len(starts) - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return (starts + win / 2) * hop_s, grid[path]


def track_beats(env: np.ndarray, hop_s: float, centres: np.ndarray,
                bpms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beat times (s) by dynamic programming over ``env`` with the local period of (``centres``, ``bpms``), and
    each beat's weight: its onset's height over the median beat's, at most 1 (a beat in a break, where nothing
    marks it, hardly counts)."""
    n = len(env)
    if n < 8:
        return np.zeros(0), np.zeros(0)
    e = env / max(float(np.std(env)), 1e-12)
    period = 60.0 / np.interp(np.arange(n) * hop_s, centres, bpms) / hop_s  # frames
    score = e.copy()
    back = np.full(n, -1, dtype=np.int64)
    for t in range(n):
        p = period[t]
        lo, hi = int(round(t - 2.0 * p)), int(round(t - 0.5 * p))
        if hi < 0:
            continue
        lo = max(lo, 0)
        cand = np.arange(lo, hi + 1)
        v = score[lo:hi + 1] - TIGHTNESS * np.log((t - cand) / p) ** 2
        j = int(np.argmax(v))
        score[t] += v[j]
        back[t] = lo + j
    # the last beat: the best score within the last period
    tail = max(0, n - int(round(period[-1])))
    t = tail + int(np.argmax(score[tail:]))
    beats = []
    while t >= 0:
        beats.append(t)
        t = int(back[t])
    beats = np.array(beats[::-1])
    # sub-frame: the interpolated peak of the onset strength within 2 frames of each beat
    out = np.empty(len(beats))
    for k, f in enumerate(beats):
        a, b = max(0, f - 2), min(n, f + 3)
        j = a + int(np.argmax(env[a:b]))
        d = 0.0
        if 0 < j < n - 1:
            y0, y1, y2 = env[j - 1], env[j], env[j + 1]
            den = y0 - 2 * y1 + y2
            d = 0.5 * (y0 - y2) / den if den < 0 else 0.0
        out[k] = (j + d) * hop_s
    # no beats before the music starts or after it ends: leading and trailing beats on weak onsets go
    height = np.array([env[max(0, f - 2):f + 3].max() for f in beats])
    typical = max(float(np.median(height)), 1e-12)
    strong = np.flatnonzero(height >= TRIM_SHARE * typical)
    if not len(strong):
        return out[:0], out[:0]
    keep = slice(strong[0], strong[-1] + 1)
    return out[keep], np.minimum(1.0, height[keep] / typical)


def beat_scatter(t: np.ndarray) -> float:
    """The tracked beats' scatter about a smooth tempo (s): from the median absolute second difference of their
    times (a second difference of independent errors has 6 times their variance), at least ``MIN_SCATTER_S``."""
    if len(t) < 5:
        return BEAT_SCATTER_S
    d2 = np.abs(np.diff(t, 2))
    return max(MIN_SCATTER_S, float(1.4826 * np.median(d2) / np.sqrt(6.0)))


def segment_beats(t: np.ndarray, w: np.ndarray | None = None) -> list[int]:
    """Indices of the beats where a new straight piece starts (the first is 0): see the module docstring.
    ``w``: the beats' weights (:func:`track_beats`; None: all 1)."""
    n = len(t)
    if n < 2 * MIN_SEGMENT_BEATS:
        return [0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=np.float64)
    # pieces are fitted on a coarse set of candidate cuts (every beat up to 600 beats, else every 2nd ...)
    stride = max(1, int(np.ceil(n / 600)))
    cand = list(range(0, n, stride))
    penalty = CHANGE_COST * beat_scatter(t) ** 2
    x = np.arange(n, dtype=np.float64)
    sums = [np.concatenate([[0.0], np.cumsum(v)]) for v in (w, w * x, w * x * x, w * t, w * x * t, w * t * t)]

    def sse(a: np.ndarray, b: int) -> np.ndarray:  # weighted least-squares lines through a..b (exclusive)
        W, Sx, Sxx, Sy, Sxy, Syy = (c[b] - c[a] for c in sums)
        den = W * Sxx - Sx * Sx
        ok = (den > 1e-12) & (W > 0)
        den, Wd = np.where(ok, den, 1.0), np.where(ok, W, 1.0)
        slope = (W * Sxy - Sx * Sy) / den
        icept = (Sy - slope * Sx) / Wd
        r = Syy - 2 * slope * Sxy - 2 * icept * Sy + slope * slope * Sxx + 2 * slope * icept * Sx + icept * icept * W
        return np.where(ok, np.minimum(np.maximum(r, 0.0), W * CLIP_S ** 2), 0.0)

    # knots k_0 = 0 < k_1 < ... < k_m = n - 1; piece j runs over beats k_j..k_{j+1} inclusive, so the beat at a
    # knot belongs to both pieces (the tempo changes there, time is continuous)
    last = n - 1
    points = np.array([0] + cand[1:] + ([last] if cand[-1] != last else []), dtype=np.int64)
    cost = np.full(len(points), np.inf)
    back = np.full(len(points), -1, dtype=np.int64)
    cost[0] = 0.0
    for j in range(1, len(points)):
        b = int(points[j])
        prev = np.flatnonzero((points[:j] <= b + 1 - MIN_SEGMENT_BEATS) & np.isfinite(cost[:j]))
        if not len(prev):
            continue
        total = cost[prev] + sse(points[prev], b + 1) + penalty
        k = int(np.argmin(total))
        cost[j], back[j] = float(total[k]), int(prev[k])
    if not np.isfinite(cost[-1]):
        return [0]
    cuts, j = [], len(points) - 1
    while j > 0:
        j = int(back[j])
        cuts.append(int(points[j]))
    return sorted(cuts)


def _line(t: np.ndarray, w: np.ndarray, a: int, b: int) -> tuple[float, float]:
    """(slope, intercept) of the weighted least-squares line through beats a..b inclusive, against the beat
    number."""
    x = np.arange(a, b + 1, dtype=np.float64)
    slope, icept = np.polyfit(x, t[a:b + 1], 1, w=np.sqrt(np.maximum(w[a:b + 1], 1e-6)))
    return float(slope), float(icept)


def merge_pieces(t: np.ndarray, w: np.ndarray, cuts: list[int]) -> list[int]:
    """``cuts`` without the changes that move no beat by more than ``MERGE_TOL_S``: neighbouring pieces whose
    own lines and the line through both part by less than that over their beats are one piece (the pair that
    parts least first, until every pair parts by more)."""
    cuts = list(cuts)
    while len(cuts) > 1:
        ends = cuts[1:] + [len(t) - 1]
        best, best_j = np.inf, -1
        for j in range(len(cuts) - 1):
            a, m, b = cuts[j], cuts[j + 1], ends[j + 1]
            sm, im = _line(t, w, a, b)
            parting = 0.0
            for lo, hi in ((a, m), (m, b)):
                s1, i1 = _line(t, w, lo, hi)
                x = np.array([lo, hi], dtype=np.float64)
                parting = max(parting, float(np.max(np.abs((s1 * x + i1) - (sm * x + im)))))
            if parting < best:
                best, best_j = parting, j
        if best > MERGE_TOL_S:
            break
        del cuts[best_j + 1]
    return cuts


def _fit_knots(t: np.ndarray, w: np.ndarray, cuts: list[int]) -> np.ndarray:
    """Times of the beats at the cuts (and of the last beat) of the continuous piecewise line that fits ``t``
    best (least squares, residuals beyond ``CLIP_S`` down-weighted twice)."""
    knots = np.array(list(cuts) + [len(t) - 1])
    n = len(t)
    idx = np.arange(n)
    seg = np.clip(np.searchsorted(knots, idx, side="right") - 1, 0, len(knots) - 2)
    w_left = 1.0 - (idx - knots[seg]) / np.maximum(knots[seg + 1] - knots[seg], 1)
    design = np.zeros((n, len(knots)))
    design[idx, seg] = w_left
    design[idx, seg + 1] += 1.0 - w_left
    weights = np.maximum(np.asarray(w, dtype=np.float64), 1e-3)
    sol = None
    for _ in range(3):
        sw = np.sqrt(weights)
        sol, *_ = np.linalg.lstsq(design * sw[:, None], t * sw, rcond=None)
        r = np.abs(design @ sol - t)
        weights = np.where(r <= CLIP_S, np.maximum(w, 1e-3), 1e-3)
    return sol


def _round_bpms(knot_beats: np.ndarray, knot_times: np.ndarray) -> list[float]:
    """Each segment's BPM, rounded to a whole or half BPM where that moves none of its beats by more than
    ``ROUND_TOL_S`` (rounded segments then start where the previous rounded one ends)."""
    out = []
    start = knot_times[0]
    for k in range(len(knot_beats) - 1):
        nb = knot_beats[k + 1] - knot_beats[k]
        target = knot_times[k + 1]
        bpm = 60.0 * nb / (target - start)
        for cand in sorted({float(round(bpm)), round(bpm * 2) / 2.0}, key=lambda c: abs(c - bpm)):
            if abs(start + nb * 60.0 / cand - target) <= ROUND_TOL_S:
                bpm = cand
                break
        out.append(float(round(bpm, 3)))
        start = start + nb * 60.0 / out[-1]
    return out


def held_share(beats: np.ndarray, timing, tol: float = HOLD_TOL_S) -> float:
    """Share of ``beats`` (times) within ``tol`` of a whole beat of ``timing``."""
    if len(beats) == 0:
        return 0.0
    b = timing.beat_at(beats)
    return float(np.mean(np.abs(timing.time_at(np.round(b)) - beats) <= tol))


def _phase_shift(onset, timing: TempoMap, latency_s: float) -> float:
    """Seconds to move ``timing`` later so that its beats sit on the attacks (see the module docstring)."""
    from ddc_sm.timing.tempo import attack_near

    n = 400
    t = np.arange(len(onset.fine)) * onset.hop_s
    phase = np.mod(timing.beat_at(t), 1.0)
    idx = np.floor(phase * n).astype(np.int64) % n
    s = np.bincount(idx, onset.fine, n)
    c = np.bincount(idx, minlength=n).astype(np.float64)
    g = np.exp(-0.5 * (np.arange(-6, 7) / 1.5) ** 2)
    s = np.convolve(np.r_[s[-6:], s, s[:6]], g, "valid")
    c = np.convolve(np.r_[c[-6:], c, c[:6]], g, "valid")
    prof = s / np.maximum(c, 1e-9)
    period = float(np.median(timing.seconds_per_beat(np.arange(0, max(2, int(timing.beat_at(t[-1])))))))
    attack, _peak = attack_near(prof, period, 0.0)
    rel = attack / n
    rel = rel - 1.0 if rel > 0.5 else rel
    return float(rel * period - latency_s)


def estimate_tempo_map(onset, bpm: float, offset: float) -> TempoMapEstimate:
    """The tempo map of the song whose ``onset_envelope`` is ``onset``, given its best constant grid (``bpm``,
    #OFFSET ``offset``, from :func:`ddc_sm.timing.tempo.estimate_tempo_from_onsets`)."""
    from ddc_sm.timing.tempo import LATENCY_S

    constant = TempoMap(float(offset), ((0.0, float(bpm)),))
    env, hop_s = onset.full, onset.hop_s
    centres, local = local_tempo(env, hop_s, bpm)
    beats, weights = track_beats(env, hop_s, centres, local)
    details = {"tracked_beats": int(len(beats))}
    if len(beats) < 2 * MIN_SEGMENT_BEATS:
        return TempoMapEstimate(constant, False, details)
    held_constant = held_share(beats, constant)
    details["constant_holds"] = round(held_constant, 3)
    if held_constant >= CONSTANT_HOLDS:
        return TempoMapEstimate(constant, False, details)
    cuts = merge_pieces(beats, weights, segment_beats(beats, weights))
    knot_times = _fit_knots(beats, weights, cuts)
    bpms = _round_bpms(np.array(list(cuts) + [len(beats) - 1], dtype=np.float64), knot_times)
    # beat numbers: the first tracked beat keeps its place in the constant grid's bar (beat numbers that are
    # multiples of 4 are downbeats) and beat 0 is the latest downbeat at or before time 0, as in the constant grid
    period0 = 60.0 / bpms[0]
    first_no = int(round(float(constant.beat_at(beats[0]))))
    m = int(np.ceil(knot_times[0] / period0 - 1e-9))
    m += (first_no - m) % 4
    entries: list[tuple[float, float]] = [(0.0, bpms[0])]
    for cut, v in zip(cuts[1:], bpms[1:]):
        if abs(entries[-1][1] - v) > 1e-9:  # neighbours that round to the same BPM are one segment
            entries.append((float(m + cut), v))
    timing = TempoMap(float(m * period0 - knot_times[0]), tuple(entries))
    timing = shifted_map(timing, _phase_shift(onset, timing, LATENCY_S))
    # the verdict is the audio's, not the tracker's: the strong onsets off each grid's 16th notes
    from ddc_sm.timing.alignment import grid_alignment

    fit_c, fit_m = grid_alignment(onset, constant), grid_alignment(onset, timing)
    details.update({"segments": len(entries), "constant_off_grid": round(fit_c.off_grid, 3),
                    "map_off_grid": round(fit_m.off_grid, 3), "constant_held": round(fit_c.held, 3),
                    "map_held": round(fit_m.held, 3)})
    if (len(entries) < 2 or not fit_m.fits or fit_m.off_grid > fit_c.off_grid - MIN_GAIN
            or fit_m.held < fit_c.held):
        return TempoMapEstimate(constant, False, details)
    return TempoMapEstimate(timing, True, details)
