"""The ``make`` pipeline: audio → tempo → step placement → grid → step selection → .sm/.ssc.

Charts are written beside the audio as ``<audio stem>.sm`` / ``.ssc``, or into the simfiles already in the
folder that belong to this audio.  An existing chart is never touched unless ``force`` (replace) or ``add``
(keep the existing charts and timing, add only the missing difficulties).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from ddc_sm import threads
from ddc_sm.audio.decode import STEPMANIA_PLAYS, Audio, load_audio, playable_copy
from ddc_sm.difficulty import DIFFICULTIES
from ddc_sm.errors import ChartExistsError, UserError
from ddc_sm.placement.inference import load_placer
from ddc_sm.progress import Progress
from ddc_sm.selection.holds import release_tails
from ddc_sm.selection.inference import load_selector
from ddc_sm.simfiles.compat import SIMFILE_EXTENSIONS
from ddc_sm.simfiles.dataset import chart_difficulties, chart_meters
from ddc_sm.simfiles.folders import existing_simfiles, loaded_simfile
from ddc_sm.simfiles.meter import estimate_meter, song_meters
from ddc_sm.simfiles.writer import (GeneratedChart, SongInfo, add_charts, check_targets, new_simfile, recover,
                                    song_lock, write_charts)
from ddc_sm.timing.grid import (DEFAULT_TOLERANCE_S, GRID_RULES, NOTE_VALUES, ConstantTiming, TempoMap, limit_rule,
                                simfile_timing, snap_beat, snap_steps)

# Rows per second of audio in the human charts of the split's train songs: 10th percentile to the 75th (to the
# median for Beginner and Easy, which should stay gentle).  A chart whose F-score-optimal threshold gives a
# density outside this range gets the threshold that brings it to the nearest bound, so a Beginner chart stays
# sparse and unusual audio still gets a playable chart.  Fitted on the train part (refitted 2026-12-03 when the
# split kept each song's versions in one part); `python benchmarks/fit_constants.py` regenerates it.  A
# per-song density target and per-measure quotas were measured against it (`python benchmarks/density.py`) and
# gave lower F at a human-like density, so the clamp stays.
STEP_DENSITY_RANGE = {"Beginner": (0.67, 0.98), "Easy": (1.42, 1.85), "Medium": (2.00, 3.49),
                      "Hard": (2.58, 3.99), "Challenge": (3.11, 4.84)}
# Beginner and Easy: a measure inside the music (between the first and the last step's measures) that the
# density-bounded peaks leave empty gets its most probable peak on an allowed slot of the difficulty's grid, when
# that peak's smoothed probability reaches this floor (:func:`rest_filled_times`); None: no filling.  Fitted on the
# train+valid songs with their human timing (the rest-measure share against the human charts', and the placement
# F-score): `python benchmarks/rest_fill.py` regenerates it.  On the 89 train+valid songs (refitted 2026-12-03
# for the beat-aware placement model) the median rest share goes from 20.5% to 2.2% (Beginner; human median 1.8%,
# P10-P90 0-14.3%) and from 4.2% to 0.0% (Easy; human 0.0%, 0-4.9%), placement F 0.408 -> 0.410 and
# 0.596 -> 0.595.
REST_FILL_FLOOR: dict[str, float | None] = {"Beginner": 0.1, "Easy": 0.15, "Medium": None, "Hard": None,
                                             "Challenge": None}
# Beginner steps on the strongest beats (:func:`beat_slot_times`): a beat's score is the smoothed placement
# probability within 20 ms of it, plus the first bonus on beats 1 and 3 of the measure and the second on top of it
# on the downbeat; the chart keeps its count of steps, on the best-scoring beats.  Fitted on the train+valid songs
# with the grid `make` estimates (placement F of the Beginner charts): `python benchmarks/beat_slots.py`
# regenerates it.
BEAT_SLOT_BONUS: dict[str, tuple[float, float]] = {"Beginner": (0.15, 0.10)}
# ... and a beat whose smoothed probability within 20 ms stays below this floor comes after every beat that reaches
# it (no step on a beat the model hears nothing on while a heard beat is left; the rest shares stay human-like).
# Fitted with the bonus on the same songs by the same script (F 0.495 against 0.494 without a floor; the median
# rest-measure share 2.6% against 0.0%, human 2.2%).
BEAT_SLOT_FLOOR: dict[str, float] = {"Beginner": 0.05}
MEASURE_BEATS = 4
SAMPLE_LENGTH_S = 12.0
MIN_STEPS_WARNING = 8

Log = Optional[Callable[[str], None]]

if TYPE_CHECKING:
    from ddc_sm.timing.alignment import GridAlignment


@dataclass
class MakeResult:
    audio_path: Path
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # asked difficulties that the song already had
    charts: list[GeneratedChart] = field(default_factory=list)
    bpm: float | None = None  # the tempo at beat 0
    offset: float | None = None
    bpms: tuple[tuple[float, float], ...] = ()  # #BPMS written: (beat, BPM) from beat 0 (one entry: constant)
    warnings: list[str] = field(default_factory=list)
    alignment: "GridAlignment | None" = None  # how the grid charted on fits the audio (ddc_sm.timing.alignment)
    previews: list[Path] = field(default_factory=list)  # preview pages written (``preview=True``)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (ddc_sm.progress.STAGES)


def _sample_window(times: list[float], duration: float) -> tuple[float, float]:
    """SAMPLESTART/SAMPLELENGTH: the 12 s window with the most steps, inside the song."""
    length = min(SAMPLE_LENGTH_S, max(1.0, duration / 2))
    if not times:
        return max(0.0, min(duration - length, duration / 3)), length
    t = np.asarray(times)
    starts = np.clip(t - 1.0, 0.0, max(0.0, duration - length))
    counts = [np.count_nonzero((t >= s) & (t < s + length)) for s in starts]
    return float(round(starts[int(np.argmax(counts))], 3)), length


def generate_charts(audio: Audio, difficulties: list[str], timing, *, weights_dir=None, beam_size: int = 20,
                    seed: int = 0, log: Log = None, finest: int | None = None,
                    progress: Progress | None = None, existing_meters: dict[str, int] | None = None,
                    candidates: int = 1, release_holds: bool = True) -> tuple[list[GeneratedChart], list[str]]:
    """Run both models on ``audio`` for ``difficulties`` with the given grid ``timing`` (or a function that
    returns it, called once the features are computed and the models loaded: make's tempo stage runs beside them).

    ``finest``: no note value finer than this (4, 8, 16, 32, 64) in any chart; None: each difficulty's own.
    ``progress``: told of each stage (features, placement, selection with its steps decoded).
    ``existing_meters``: the meters of the charts the song already has (``--add``), which the new meters fit
    between (:func:`ddc_sm.simfiles.meter.song_meters`).
    ``candidates``: step selection decodes this many seeded charts per difficulty (seeds ``seed`` ..
    ``seed + candidates - 1``) and keeps the one the critic (:mod:`ddc_sm.selection.critic`) scores best.
    ``release_holds``: long holds let go before the next step (:func:`ddc_sm.selection.holds.release_tails`);
    off only for ``benchmarks/hold_tails.py``, which fits it.

    Returns the charts (in difficulty order) and warnings.
    """
    from ddc_sm.audio.features import PLACEMENT_SR, SELECTION_SR, placement_features, selection_features

    progress = progress or Progress()
    progress.stage("features")
    (log or (lambda _m: None))("computing audio features...")
    return charts_from_features(placement_features(audio.resampled(PLACEMENT_SR).samples),
                                selection_features(audio.resampled(SELECTION_SR).samples), audio.duration,
                                difficulties, timing, weights_dir=weights_dir, beam_size=beam_size, seed=seed,
                                log=log, finest=finest, progress=progress, existing_meters=existing_meters,
                                candidates=candidates, release_holds=release_holds)


def charts_from_features(placement_feats: np.ndarray, selection_feats: np.ndarray, duration: float,
                         difficulties: list[str], timing, *, weights_dir=None, beam_size: int = 20, seed: int = 0,
                         log: Log = None, probabilities: dict[str, np.ndarray] | None = None,
                         finest: int | None = None, progress: Progress | None = None,
                         existing_meters: dict[str, int] | None = None,
                         candidates: int = 1, release_holds: bool = True) -> tuple[list[GeneratedChart], list[str]]:
    """Both models on precomputed raw features (see :mod:`ddc_sm.audio.features`): placement, grid, selection, meter.
    ``candidates``, ``release_holds``: as for :func:`generate_charts`.

    ``probabilities``: the placement model's per-frame output for these difficulties, when already computed.
    """
    progress = progress or Progress()
    progress.stage("models")
    import torch

    torch.manual_seed(seed)
    say = log or (lambda _m: None)
    warnings: list[str] = []
    wkey = str(weights_dir) if weights_dir else None
    placer, selector = load_placer(wkey), load_selector(wkey)
    workers = threads.workers()  # processes that share the work: the same charts whatever their number
    if callable(timing):  # make's tempo stage, run beside the features and the models: its result
        timing = timing()
    progress.stage("placement")
    say("placing steps...")
    if probabilities is None:
        probabilities = placer.probabilities(placement_feats, difficulties, timing, workers=workers)
    loosened: dict = {}
    placed = {d: placed_steps(placer, probabilities[d], d, duration, timing, finest=finest, loosened=loosened)
              for d in difficulties}
    if loosened:
        warnings.append(_loosened_warning(loosened))
    n_steps = sum(len(b) for b, _ in placed.values())
    candidates = max(1, int(candidates))
    progress.stage("selection", total=n_steps * candidates)
    say(f"selecting steps ({n_steps} steps{f', {candidates} candidates' if candidates > 1 else ''})...")
    step_times = {d: np.asarray(t) for d, (_, t) in placed.items()}
    done = [0]

    def advance(n: int) -> None:  # steps decoded, over all candidates
        progress.advance(done[0] + n)

    def written(difficulty: str, rows, chart_seed: int) -> tuple[list, list, list[float]]:
        """(beats, rows, times) of a selected chart as it is written: long holds let go before the next step."""
        beats, times = placed[difficulty]
        if release_holds:
            beats, rows = release_tails(beats, rows, difficulty, seed=chart_seed)
        if len(beats) != len(times):  # tails on rows of their own
            times = [float(t) for t in timing.time_at(np.array([float(b) for b in beats]))]
        return list(beats), list(rows), list(times)

    selected = {d: written(d, rows, seed) for d, rows in
                selector.select_many(selection_feats, step_times, beam_size=beam_size, seed=seed,
                                     on_step=advance, workers=workers).items()}
    if candidates > 1:
        from ddc_sm.selection.critic import load_critic

        critic = load_critic(wkey)
        best = {d: critic.logit(rows, times, d) for d, (_b, rows, times) in selected.items()}
        for k in range(1, candidates):
            done[0] = k * n_steps
            other = selector.select_many(selection_feats, step_times, beam_size=beam_size, seed=seed + k,
                                         on_step=advance, workers=workers)
            for d, rows in other.items():
                chart = written(d, rows, seed + k)
                score = critic.logit(chart[1], chart[2], d)  # the chart as it would be written
                if score > best[d]:  # ties keep the earlier seed's chart
                    best[d], selected[d] = score, chart
    charts = []
    for difficulty in difficulties:
        beats, rows, times = selected[difficulty]
        n_steps = len(placed[difficulty][0])
        if n_steps < MIN_STEPS_WARNING:
            warnings.append(f"{difficulty}: only {n_steps} steps found; the audio may be too quiet or sparse")
        charts.append(GeneratedChart(difficulty, 0, beats, rows, times))
    meters = song_meters({c.difficulty: estimate_meter(c.difficulty, c.times, c.rows, c.beats) for c in charts},
                         existing_meters)
    for c in charts:
        c.meter = meters[c.difficulty]
    return charts, warnings


def placed_steps(placer, prob: np.ndarray, difficulty: str, duration: float, timing,
                 finest: int | None = None, loosened: dict | None = None) -> tuple[list, list[float]]:
    """The steps ``make`` places for a difficulty: (grid beats, their times in seconds).

    Peaks of the placement probability ``prob`` (:func:`density_bounded_times`), snapped to the difficulty's
    grid (no note finer than ``finest``, when given); of two steps that land on one slot, the more probable one
    stays.  When the grid does not fit the steps, so that the difficulty's note values would drop most of them,
    every step goes to its nearest allowed slot instead (:func:`ddc_sm.timing.grid.snap_steps`), and
    ``loosened[difficulty]`` records the :class:`ddc_sm.timing.grid.Snapped` (when ``loosened`` is given).
    """
    snapped = snapped_steps(placer, prob, difficulty, duration, timing, finest)
    if snapped.loosened and loosened is not None:
        loosened[difficulty] = snapped
    beats = snapped.beats
    times = [float(t) for t in timing.time_at(np.array([float(b) for b in beats]))] if beats else []
    return list(beats), times


def snapped_steps(placer, prob: np.ndarray, difficulty: str, duration: float, timing,
                  finest: int | None = None):
    """How :func:`placed_steps` snaps: the :class:`ddc_sm.timing.grid.Snapped` of the difficulty's placed steps."""
    rule = limit_rule(GRID_RULES[difficulty], finest)
    step_times = placement_times(placer, prob, difficulty, duration, timing, rule)
    frames = np.rint(np.asarray(step_times) * 100).astype(int)
    return snap_steps(step_times, timing, rule, end_time=duration - 0.05, priority=lambda i: float(prob[frames[i]]))


def _loosened_warning(loosened: dict) -> str:
    """The one line for the difficulties whose steps went to their nearest slots (``placed_steps``'s record)."""
    counts = [f"{s.kept} of {s.kept_nearest} {d}" for d, s in loosened.items()]
    listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    return (f"the grid does not fit the steps: only {listed} steps lie within {DEFAULT_TOLERANCE_S * 1000:.0f} ms "
            "of a note value their difficulty uses, so each of their steps went to its nearest allowed slot instead")


def placement_times(placer, prob: np.ndarray, difficulty: str, duration: float, timing, rule) -> np.ndarray:
    """The step times ``make`` snaps with ``rule``: :func:`density_bounded_times`, then :func:`rest_filled_times`,
    then (Beginner) :func:`beat_slot_times`."""
    times = density_bounded_times(placer, prob, difficulty, duration)
    times = rest_filled_times(placer, prob, difficulty, duration, timing, times, rule)
    return beat_slot_times(placer, prob, difficulty, duration, timing, times)


def beat_slot_times(placer, prob: np.ndarray, difficulty: str, duration: float, timing, times: np.ndarray,
                    bonus: tuple[float, float] | None = None, floor: float | None = None) -> np.ndarray:
    """``times`` moved onto the strongest beats of ``timing`` (the difficulties of ``BEAT_SLOT_BONUS``, or any
    with ``bonus``; others unchanged).

    Human Beginner charts step on the beat, mostly on its strong beats.  Every beat of the grid from the first
    step's to the last step's (and before the end of the audio) is scored by the largest smoothed placement
    probability within 20 ms of it plus ``bonus``: its first value on beats 1 and 3 of the measure (even beats
    from beat 0, the downbeat), its second in addition on the downbeat; beats whose probability stays below
    ``floor`` (default ``BEAT_SLOT_FLOOR``; 0: none) come after all the others.  The chart keeps as many steps as
    ``times`` has, on the best-scoring beats (ties: the earlier beat)."""
    from ddc_sm.placement.peaks import smooth_probability

    bonus = BEAT_SLOT_BONUS.get(difficulty) if bonus is None else bonus
    times = np.asarray(times, dtype=np.float64)
    if bonus is None or times.size == 0:
        return times
    first, last = (float(b) for b in timing.beat_at(times[[0, -1]]))
    beats = np.arange(max(0.0, math.ceil(first - 1e-6)), math.floor(last + 1e-6) + 1.0)
    slot_times = np.asarray(timing.time_at(beats), dtype=np.float64) if beats.size else np.zeros(0)
    inside = slot_times <= duration - 0.05
    beats, slot_times = beats[inside], slot_times[inside]
    if beats.size == 0:
        return times
    height = smooth_probability(prob, placer.smooth)
    frames = np.rint(slot_times * 100).astype(int)
    near = np.clip(frames[:, None] + np.arange(-2, 3)[None, :], 0, len(height) - 1)
    heard = height[near].max(axis=1)
    score = heard + bonus[0] * (beats % 2 == 0) + bonus[1] * (beats % MEASURE_BEATS == 0)
    floor = BEAT_SLOT_FLOOR.get(difficulty) if floor is None else floor
    unheard = heard < floor if floor else np.zeros(beats.size, dtype=bool)
    # beats the model hears something on first, then by score, then the earlier beat
    best = np.lexsort((np.arange(beats.size), -score, unheard))[:times.size]
    return np.sort(slot_times[best])


def _measures(times: np.ndarray, timing, rule, end_time: float) -> list[int | None]:
    """The measure (``MEASURE_BEATS`` beats from beat 0) of each time's slot under ``rule``; None where the
    snapping drops it (near no allowed note value, before beat 0 or after ``end_time``)."""
    if len(times) == 0:
        return []
    beats = timing.beat_at(np.asarray(times, dtype=np.float64))
    spb = timing.seconds_per_beat(beats)
    slots = [snap_beat(float(b), float(s), rule) for b, s in zip(beats, spb)]
    slots = [b if b is not None and b >= 0 else None for b in slots]
    kept = [b for b in slots if b is not None]
    ends = iter(timing.time_at(np.array([float(b) for b in kept])) if kept else [])
    out: list[int | None] = []
    for b in slots:
        out.append(None if b is None or next(ends) > end_time else int(b // MEASURE_BEATS))
    return out


def rest_filled_times(placer, prob: np.ndarray, difficulty: str, duration: float, timing, times: np.ndarray,
                      rule, floor: float | None = None) -> np.ndarray:
    """``times`` with the empty measures inside the music filled (Beginner and Easy; ``REST_FILL_FLOOR``).

    Each measure between the first and the last step's measures that no step of ``times`` snaps into gets the
    most probable peak of the smoothed probability at the threshold ``floor`` (default: the difficulty's
    ``REST_FILL_FLOOR``) whose allowed slot of ``rule`` lies in it, one on the rule's coarsest note value (the
    beat) before any other (human Beginner charts have few 8th notes); a measure with no such peak stays empty.  The
    total stays within STEP_DENSITY_RANGE's upper bound: when the filling passes it, the weakest steps of
    the measures with more than one step (and those the snapping would drop) go.  ``floor`` None: ``times``.
    """
    from ddc_sm.placement.peaks import smooth_probability

    floor = REST_FILL_FLOOR.get(difficulty) if floor is None else floor
    times = np.asarray(times, dtype=np.float64)
    if floor is None or times.size == 0:
        return times
    end_time = duration - 0.05
    measures = _measures(times, timing, rule, end_time)
    occupied = {m for m in measures if m is not None}
    if not occupied:
        return times
    first, last = min(occupied), max(occupied)
    height = smooth_probability(prob, placer.smooth)

    def strength(t: float) -> float:
        return float(height[min(len(height) - 1, max(0, int(round(t * 100))))])

    have = set(np.rint(times * 100).astype(int).tolist())
    candidates = [t for t in placer.times_from_probability(prob, difficulty, threshold=floor)
                  if int(round(t * 100)) not in have]
    coarsest = replace(rule, divisions=rule.divisions[:1])  # on the beat, for Beginner and Easy
    on_coarsest = _measures(np.asarray(candidates), timing, coarsest, end_time)
    best: dict[int, tuple[bool, float, float]] = {}  # measure -> (on the coarsest value, strength, time)
    for t, m, c in zip(candidates, _measures(np.asarray(candidates), timing, rule, end_time), on_coarsest):
        if m is None or not first < m < last or m in occupied:
            continue
        key = (c is not None, strength(t), t)
        if m not in best or key > best[m]:
            best[m] = key
    if not best:
        return times
    excess = len(times) + len(best) - int(STEP_DENSITY_RANGE[difficulty][1] * duration)
    keep = np.ones(times.size, dtype=bool)
    if excess > 0:
        count: dict[int | None, int] = {}
        for m in measures:
            count[m] = count.get(m, 0) + 1
        for i in sorted(range(times.size), key=lambda i: strength(times[i])):
            if excess <= 0:
                break
            m = measures[i]
            if m is None or count[m] > 1:
                keep[i] = False
                count[m] -= 1
                excess -= 1
    return np.sort(np.concatenate([times[keep], np.asarray([t for _c, _s, t in best.values()], dtype=np.float64)]))


def density_bounded_times(placer, prob: np.ndarray, difficulty: str, duration: float) -> np.ndarray:
    """Peak times at the difficulty's threshold, re-thresholded when the density leaves STEP_DENSITY_RANGE."""
    times = placer.times_from_probability(prob, difficulty)
    lo, hi = (rate * duration for rate in STEP_DENSITY_RANGE[difficulty])
    if lo <= len(times) <= hi:
        return times
    return count_bounded_times(placer, prob, difficulty, lo if len(times) < lo else hi)


def count_bounded_times(placer, prob: np.ndarray, difficulty: str, target: float) -> np.ndarray:
    """The peaks at the threshold whose count comes nearest ``target`` from the side of the difficulty's own
    threshold: at least ``target`` peaks when that threshold gives fewer, at most ``target`` when it gives more
    (as many as there are when even every peak is fewer)."""
    times = placer.times_from_probability(prob, difficulty)
    if len(times) == target:
        return times

    def count(threshold: float) -> int:
        return len(placer.times_from_probability(prob, difficulty, threshold=threshold))

    if count(0.0) <= target:  # even every peak is not enough
        return placer.times_from_probability(prob, difficulty, threshold=0.0)
    low, high = 0.0, 1.0  # count(low) > target >= count(high)
    for _ in range(20):
        mid = (low + high) / 2
        if count(mid) > target:
            low = mid
        else:
            high = mid
    return placer.times_from_probability(prob, difficulty, threshold=low if len(times) < target else high)


def make_charts(audio_path, difficulties: list[str], **options) -> MakeResult:
    """Generate charts for ``audio_path`` and write them beside it (options: see :func:`_make_charts`).

    Only the audio's own folder is written, under its lock (:func:`ddc_sm.simfiles.writer.song_lock`: a second
    run on the same song fails at once, naming the first one's pid); what an interrupted run left half-written
    there is finished first (:func:`ddc_sm.simfiles.writer.recover`).
    """
    audio_path = Path(audio_path)
    if audio_path.is_dir():
        raise UserError(f"{audio_path} is a folder, not an audio file (use `ddc-sm pack {audio_path}` for a pack)")
    if not audio_path.is_file():
        raise UserError(f"audio file not found: {audio_path}")
    preview = options.pop("preview", False)
    with song_lock(audio_path.parent):
        recover(audio_path.parent)
        result = _make_charts(audio_path, difficulties, **options)
        if preview and result.written:
            from ddc_sm.preview import write_preview

            page_of = loaded_simfile(result.written)
            result.previews.append(write_preview(page_of, log=options.get("log")))
    return result


MAX_OFFSET_S = 600.0


def check_timing_options(bpm, offset) -> None:
    """:class:`UserError` for a --bpm or --offset that no chart can be built on (checked before any work)."""
    if bpm is not None and not (math.isfinite(bpm) and 10.0 <= bpm <= 1000.0):
        raise UserError(f"--bpm {bpm} is not a usable tempo (10–1000)")
    if offset is not None and not (math.isfinite(offset) and abs(offset) <= MAX_OFFSET_S):
        raise UserError(f"--offset {offset} is not a usable offset (seconds, between -{MAX_OFFSET_S:.0f} and "
                        f"{MAX_OFFSET_S:.0f})")


def _existing_timing(path: Path):
    """The timing of an existing chart for --add, checked usable (finite offset, positive BPMs)."""
    from ddc_sm.errors import TimingError
    from ddc_sm.simfiles.compat import read_existing_chart
    from ddc_sm.simfiles.lint import float_or_none, parse_beat_values

    sim = read_existing_chart(path)
    bpms, bad = parse_beat_values(sim.get("BPMS"))
    offset_text = (sim.get("OFFSET") or "0").strip() or "0"
    offset = float_or_none(offset_text)
    if bad or not bpms or any(not (0 < v <= 100000) for _b, v in bpms) or min(b for b, _v in bpms) != 0:
        raise TimingError(f"{path.name}: its #BPMS {(sim.get('BPMS') or '').strip()[:60]!r} is not a list of "
                          "beat=bpm (positive BPMs, the first at beat 0) and cannot time new charts (--add keeps "
                          "the existing timing); fix it or use --force")
    if offset is None or abs(offset) > MAX_OFFSET_S:
        raise TimingError(f"{path.name}: #OFFSET {offset_text[:40]!r} cannot time new charts (--add keeps the "
                          "existing timing); fix it or use --force")
    for key, unit in (("STOPS", "seconds"), ("DELAYS", "seconds"), ("WARPS", "beats")):
        values, bad = parse_beat_values(sim.get(key))
        if bad:
            raise TimingError(f"{path.name}: its #{key} {(sim.get(key) or '').strip()[:60]!r} is not a list of "
                              f"beat={unit} and cannot time new charts (--add keeps the existing timing); fix it "
                              "or use --force")
    return simfile_timing(path)


def _make_charts(audio_path, difficulties: list[str], *, bpm: float | None = None, offset: float | None = None,
                force: bool = False, add: bool = False, formats=("sm", "ssc"), weights_dir=None,
                beam_size: int = 20, seed: int = 0, log: Log = None, offset_shift: float = 0.0,
                title: str | None = None, artist: str | None = None, subtitle: str | None = None,
                finest: int | None = None, progress: Progress | None = None, candidates: int = 1) -> MakeResult:
    """Generate charts for ``audio_path`` and write them; see the module docstring for the rules.

    ``candidates``: as for :func:`generate_charts` (1: one chart per difficulty, no critic).

    ``title``/``artist``/``subtitle``: the new simfile's #TITLE/#ARTIST/#SUBTITLE instead of what the tags or
    the file name give (:mod:`ddc_sm.simfiles.song_info`); not used with ``add``, which keeps the existing file's.
    ``finest``: no note value finer than this (4, 8, 16, 32 or 64) in any chart (see ``ddc_sm.timing.grid``).

    ``offset_shift``: seconds to move an *estimated* beat grid later (a pack's sync convention, see
    :mod:`ddc_sm.timing.sync_convention`); a given ``offset`` and an existing chart's timing (``add``) are used as they are.

    ``progress`` (:class:`ddc_sm.progress.Progress`) is told of each stage as it starts; ``result.timings``
    has the seconds each took.
    """
    say = log or (lambda _m: None)
    progress = progress or Progress()
    audio_path = Path(audio_path)
    unknown = [d for d in difficulties if d not in DIFFICULTIES]
    if unknown or not difficulties:
        raise UserError(f"unknown difficulties {unknown}; use {', '.join(DIFFICULTIES)}")
    if finest is not None and finest not in NOTE_VALUES:
        raise UserError(f"--finest {finest}: use one of {', '.join(map(str, NOTE_VALUES))}")
    check_timing_options(bpm, offset)
    result = MakeResult(audio_path)
    existing = existing_simfiles(audio_path)
    if existing and not force and not add:
        names = ", ".join(p.name for p in existing)
        verb, them = ("exists", "it") if len(existing) == 1 else ("exist", "them")
        raise ChartExistsError(f"{names} already {verb} beside {audio_path.name}; nothing written "
                               f"(use --force to replace {them} or --add to add missing difficulties)")
    targets: dict[Path, list[str]] = {}  # file -> difficulties to write into it
    existing_meters: dict[str, int] = {}  # --add: the meters the new ones fit between
    if add and existing:
        present = {p: _difficulties_of(p) for p in existing}
        for p in existing:
            missing = [d for d in difficulties if d not in present[p]]
            if missing:
                targets[p] = missing
        result.skipped = [d for d in difficulties if all(d in present[p] for p in existing)]
        if not targets:
            say(f"{audio_path.name}: every asked difficulty is already charted; nothing to do")
            return result
        if bpm is not None or offset is not None:
            say("note: --bpm/--offset are ignored with --add; the existing chart's timing is used")
        if title is not None or artist is not None or subtitle is not None:
            say("note: --title/--artist/--subtitle are ignored with --add; the existing chart's are kept")
        timing_source = loaded_simfile(existing)
        timing = _existing_timing(timing_source)
        for p in sorted(existing, key=lambda p: p != timing_source):  # the timing source's meters first
            for d, m in chart_meters(p).items():
                existing_meters.setdefault(d, m)
    else:
        for kind in formats:
            same_kind = [p for p in existing if p.suffix.lower() == f".{kind}"]
            targets[same_kind[0] if same_kind else audio_path.with_suffix(f".{kind}")] = list(difficulties)
        clash = [p for p in targets if p.exists() and not force]
        if clash:
            raise ChartExistsError(f"{', '.join(str(p) for p in clash)} already "
                                   f"{'exists' if len(clash) == 1 else 'exist'}; nothing written (use --force to replace it)")
        shadow = [p for p in existing if p not in targets]
        if shadow:
            result.warnings.append(f"{', '.join(p.name for p in shadow)} also in the folder: StepMania may load it instead")
        others = sorted(p.name for p in audio_path.parent.iterdir()
                        if p.suffix.lower() in SIMFILE_EXTENSIONS and p not in targets and p not in existing)
        if others:
            result.warnings.append(f"the folder also holds {', '.join(others)}: StepMania loads one simfile per "
                                   "song folder, so give each song a folder of its own")
        timing = None
    check_targets(list(targets), overwrite=True)
    if audio_path.suffix.lower() not in STEPMANIA_PLAYS:
        check_targets([audio_path.with_suffix(".ogg")], overwrite=True)

    progress.stage("reading")
    say(f"reading {audio_path.name}...")
    audio = load_audio(audio_path)
    result.warnings += list(audio.warnings)
    if audio.duration > 10 * 60:
        result.warnings.append(f"long audio ({audio.duration / 60:.1f} min): generation takes a while")
    progress.stage("tempo")
    grid_args = (audio, audio_path, timing, None if timing is None else timing_source.name, bpm, offset, offset_shift)
    if threads.workers() > 1:  # beside the features and the models, in a process of its own (ddc_sm.forked)
        from ddc_sm.forked import Later

        later = Later(lambda: _grid_stage(*grid_args))
    else:
        later = None
        found = _grid_stage(*grid_args)

    def grid():
        nonlocal found
        if later is not None:
            progress.stage("tempo")  # the wait for it; the bar does not go back (ddc_sm.commands.display)
            found = later.result(lambda: _grid_stage(*grid_args))
        for line in found.lines:
            say(line)
        result.warnings += found.warnings
        result.bpm, result.offset, result.bpms, result.alignment = found.bpm, found.offset, found.bpms, found.alignment
        return found.timing

    wanted = [d for d in DIFFICULTIES if any(d in v for v in targets.values())]
    try:
        charts, warnings = generate_charts(audio, wanted, grid if later is not None else grid(), weights_dir=weights_dir,
                                           beam_size=beam_size, seed=seed, log=say, finest=finest, progress=progress,
                                           existing_meters=existing_meters, candidates=candidates)
    finally:
        if later is not None:
            later.kill()
    progress.stage("writing")
    bpm, offset = result.bpm, result.offset
    result.charts, result.warnings = charts, result.warnings + warnings
    empty = [c.difficulty for c in charts if not c.beats]
    if empty:
        from ddc_sm.errors import TimingError

        fit = result.alignment
        why = f"; the grid does not fit: {fit.summary()}" if fit is not None and not fit.fits else ""
        raise TimingError(f"no steps could be placed for {', '.join(empty)} (check --offset/--bpm against the "
                          f"audio{why}); nothing written")
    by_name = {c.difficulty: c for c in charts}
    if add and existing:
        texts = {p: add_charts(p, [by_name[d] for d in ds]) for p, ds in targets.items()}
    else:
        from ddc_sm.simfiles.song_info import song_meta

        meta = song_meta(audio_path, title=title, artist=artist, subtitle=subtitle)
        say(f"title {meta.title!r}, artist {meta.artist!r} (from the {meta.source})")
        if not meta.artist and title is None and artist is None:
            say("note: no artist found in the tags or the file name; pass --artist (and --title) to set them")
        hardest = charts[-1].times if charts else []
        start, length = _sample_window(hardest, audio.duration)
        music = playable_copy(audio_path)
        if music != audio_path:
            say(f"StepMania cannot play {audio_path.suffix} files: the chart plays {music.name}")
        info = SongInfo(meta.title, meta.artist, music.name, float(bpm), float(offset), start, length,
                        subtitle=meta.subtitle, bpms=result.bpms)
        texts = {p: str(new_simfile(p.suffix.lower().lstrip("."), info, [by_name[d] for d in ds]))
                 for p, ds in targets.items()}
    write_charts(texts, overwrite=True)
    result.written += list(texts)
    for w in result.warnings:
        say(f"warning: {w}")
    progress.finish()
    result.timings = dict(progress.timings)
    return result


def _difficulties_of(path: Path) -> set[str]:
    from ddc_sm.errors import SimfileError

    try:
        return chart_difficulties(path)
    except SimfileError:
        raise
    except Exception as exc:
        from ddc_sm.simfiles.compat import parse_error_words

        raise SimfileError(f"cannot read existing chart {path.name}: {parse_error_words(exc)}; fix it or use "
                           "--force") from None


def _given_grid_words(bpm, offset) -> str | None:
    """How a warning names a grid the user gave (in part): 'the grid of --bpm 200 --offset 1.145'."""
    parts = [f"--bpm {bpm:g}" if bpm is not None else "", f"--offset {offset:g}" if offset is not None else ""]
    given = " ".join(p for p in parts if p)
    return f"the grid of {given}" if given else None


def _first_offset(timing) -> float:
    """#OFFSET of a timing: minus the time of beat 0."""
    return -float(timing.time_at(np.array([0.0]))[0])


@dataclass
class _Grid:
    """What the tempo stage found (:func:`_grid_stage`): the grid charted on and what make says of it."""
    timing: object
    bpm: float
    offset: float
    bpms: tuple
    alignment: object
    warnings: list
    lines: list  # messages, in order


def _grid_stage(audio: Audio, audio_path: Path, timing, timing_source: str | None, bpm, offset,
                offset_shift: float) -> _Grid:
    """The grid the charts are written on: ``timing`` where --add gave one (the existing chart's, named
    ``timing_source``), else the user's --bpm/--offset with the estimate filling in what they did not give, a
    tempo map where the song's tempo really changes; and how it fits the audio.  A pure function of its
    arguments (make may run it in a process of its own, beside the features)."""
    from ddc_sm.timing.tempo import onset_envelope

    found = MakeResult(audio_path)
    lines: list[str] = []
    say = lines.append
    onset = onset_envelope(audio.samples, audio.sample_rate)
    if timing is None:
        given = _given_grid_words(bpm, offset)
        estimated_grid = bpm is None and offset is None
        bpm, offset = _resolve_tempo(audio, bpm, offset, found, say, offset_shift, onset=onset)
        timing = ConstantTiming(bpm, offset)
        if estimated_grid:  # where the tempo really changes, a tempo map (ddc_sm.timing.tempo_map)
            timing = _tempo_map(onset, timing, found, say, offset_shift)
        bpms = tuple(timing.bpms) if isinstance(timing, TempoMap) else ((0.0, float(bpm)),)
        grid_name = given or f"the estimated grid ({bpm:g} BPM, offset {offset:.3f})"
        fix, grid_offset = "try --offset {:.3f}", offset
    else:
        bpm = offset = None
        bpms = ()
        grid_name = f"the timing of {timing_source} (--add keeps it)"
        fix, grid_offset = "its #OFFSET would fit at {:.3f} (fix it there, or use --force)", _first_offset(timing)
    alignment = _measure_grid(onset, timing, grid_name, grid_offset, fix, found, say)
    return _Grid(timing, bpm, offset, bpms, alignment, found.warnings, lines)


def _measure_grid(onset, timing, grid_name: str, offset: float, fix: str, result: MakeResult, say):
    """How ``timing`` fits the audio's onsets (:mod:`ddc_sm.timing.alignment`); a warning when it does not."""
    from ddc_sm.timing.alignment import grid_alignment, misfit_warning

    fit = grid_alignment(onset, timing)
    if fit.measured:
        say(f"grid fit: {fit.summary()}")
    if not fit.fits:
        result.warnings.append(misfit_warning(fit, grid_name, offset, fix))
    return fit


def _tempo_map(onset, constant: ConstantTiming, result: MakeResult, say, shift: float = 0.0):
    """The estimated constant grid ``constant`` (already moved ``shift`` seconds later), or the tempo map that
    replaces it where the song's tempo really changes (:mod:`ddc_sm.timing.tempo_map`, moved ``shift`` too).
    With a map, the estimate's warnings about beats off a constant grid are replaced by one line naming the
    segments."""
    from ddc_sm.timing.sync_convention import shifted_offset
    from ddc_sm.timing.tempo import CONSTANT_GRID_WARNINGS
    from ddc_sm.timing.tempo_map import estimate_tempo_map, shifted_map

    unshifted = shifted_offset(constant.bpm, constant.offset, -shift) if shift else constant.offset
    est = estimate_tempo_map(onset, constant.bpm, unshifted)
    if not est.changed:
        return constant
    timing = shifted_map(est.timing, shift) if shift else est.timing
    result.warnings = [w for w in result.warnings if not any(k in w for k in CONSTANT_GRID_WARNINGS)]
    say(f"tempo changes: {est.describe()}")
    return timing


def _resolve_tempo(audio: Audio, bpm, offset, result: MakeResult, say, shift: float = 0.0,
                   onset=None) -> tuple[float, float]:
    """BPM and offset: the user's where given, else estimated from the audio (an estimated beat grid moved
    ``shift`` seconds later).  ``onset``: the audio's ``onset_envelope``, when already computed."""
    if bpm is not None and offset is not None:
        return float(bpm), float(offset)
    from ddc_sm.timing.tempo import estimate_tempo_from_onsets, onset_envelope

    say("estimating tempo...")
    est = estimate_tempo_from_onsets(onset if onset is not None else onset_envelope(audio.samples, audio.sample_rate))
    result.warnings += list(est.warnings)
    best = est.best
    if bpm is None:
        say(f"tempo: {best.bpm:.3f} BPM, offset {best.offset:.3f} s (confidence {best.confidence:.2f})")
        if offset is not None:  # the user gave the offset only
            return float(best.bpm), float(offset)
        bpm, estimated = float(best.bpm), float(best.offset)
    else:  # the user gave the BPM only: keep the estimated phase of the beat, with beat 0 at or before time 0
        bpm, period = float(bpm), 60.0 / float(bpm)
        phase = (-best.offset) % period
        estimated = float(period - phase if phase > 1e-9 else 0.0)
    if not shift:
        return bpm, estimated
    from ddc_sm.timing.sync_convention import shifted_offset

    say(f"offset {estimated:.3f} s moved {shift * 1000:+.1f} ms to the pack's sync")
    return bpm, shifted_offset(bpm, estimated, shift)
