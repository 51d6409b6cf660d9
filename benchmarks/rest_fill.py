"""Fit ``REST_FILL_FLOOR`` (``ddc_sm/pipeline/make.py``) on the train+valid songs (never the test songs).

    python benchmarks/rest_fill.py            # human charts under ../shared/data
    python benchmarks/rest_fill.py ROOT       # another folder of packs

For each train+valid song with audio, its Beginner and Easy charts' placement is made as ``make`` makes it on
the song's human timing (:func:`ddc_sm.pipeline.make.density_bounded_times`, then
:func:`ddc_sm.pipeline.make.rest_filled_times` with each floor of ``FLOORS``, or no filling), then snapped to the
difficulty's grid (:func:`ddc_sm.timing.grid.snap_steps`).  Printed per difficulty and floor: the median share of
rest measures (:func:`ddc_sm.simfiles.footing.stream_stats`) against the human charts' median and 10th-90th
percentile, the charts outside that range, the pooled placement F-score at ±20 ms (the times before snapping,
as ``benchmarks/quality.py`` scores them), and the median share of 8th notes with the charts outside the human
10th-90th percentile.

The choice: of the floors whose F-score is at most ``MAX_F_DROP`` below no filling's, the one whose median rest
share is nearest the human median (a higher floor, fewer added steps, on a tie); none when no floor brings the
median nearer than no filling does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
FLOORS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
MAX_F_DROP = 0.01
FILLED = ("Beginner", "Easy")


def main() -> int:
    from ddc_sm import threads as thread_policy

    thread_policy.configure()  # one thread, or $DDC_SM_THREADS (ddc_sm/threads.py): a busy machine does not thrash
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="folder of packs (default ../shared/data)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N songs (a quick look)")
    args = ap.parse_args()
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the shared data is needed to fit this constant)")
        return 0
    sys.path.insert(0, str(REPO))
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.pipeline.evaluate import TOLERANCE_S
    from ddc_sm.pipeline.make import density_bounded_times, rest_filled_times
    from ddc_sm.placement.inference import load_placer
    from ddc_sm.placement.metrics import match_f_score
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.footing import stream_stats
    from ddc_sm.simfiles.splits import load_split, training_part
    from ddc_sm.timing.grid import GRID_RULES, simfile_timing, snap_steps

    split = load_split()
    placer = load_placer()
    settings = (None,) + FLOORS
    human: dict[str, list[float]] = {d: [] for d in FILLED}
    rests = {d: {f: [] for f in settings} for d in FILLED}
    eighths = {d: {f: [] for f in settings} for d in FILLED}
    human_eighths: dict[str, list[float]] = {d: [] for d in FILLED}
    scores = {d: {f: None for f in settings} for d in FILLED}
    songs = [s for s in iter_songs([args.root]) if training_part(s.key, split) in ("train", "valid")
             and s.audio_path is not None and any(c.difficulty in FILLED for c in s.charts)]
    songs = songs[:args.limit] if args.limit else songs
    for n, song in enumerate(songs, 1):
        print(f"[{n}/{len(songs)}] {song.key}", file=sys.stderr)
        try:
            timing = simfile_timing(song.simfile_path)
            feats = cached_features(song.audio_path, "placement")
        except Exception as exc:
            print(f"skipped {song.key}: {exc}", file=sys.stderr)
            continue
        duration = (feats.shape[-1] - 1) / 100.0
        charts = [c for c in song.charts if c.difficulty in FILLED]
        # a beat-aware placement model gets the grid `make` estimates (what it has at run time), never the human one
        probs = placer.probabilities(feats, sorted({c.difficulty for c in charts}, key=FILLED.index),
                                     placer.estimated_grid(song.audio_path))
        for chart in charts:
            d, prob = chart.difficulty, probs[chart.difficulty]
            own = stream_stats(chart.rows, beats=chart.beats)
            human[d].append(own.rest_share)
            human_eighths[d].append(own.note_values.get(8, 0.0))
            bounded = density_bounded_times(placer, prob, d, duration)
            for f in settings:
                times = bounded if f is None else rest_filled_times(placer, prob, d, duration, timing, bounded,
                                                                    GRID_RULES[d], floor=f)
                m = match_f_score(times, chart.times, tol=TOLERANCE_S)
                scores[d][f] = m if scores[d][f] is None else scores[d][f] + m
                frames = np.rint(np.asarray(times) * 100).astype(int)
                beats = snap_steps(times, timing, GRID_RULES[d], end_time=duration - 0.05,
                                   priority=lambda i: float(prob[frames[i]])).beats
                made = stream_stats(["1000"] * len(beats), beats=beats)
                rests[d][f].append(made.rest_share)
                eighths[d][f].append(made.note_values.get(8, 0.0))
    print(f"{args.root}: {len(songs)} train+valid songs, their Beginner and Easy charts on the human timing")
    chosen = {}
    for d in FILLED:
        if not human[d]:
            continue
        lo, med, hi = (float(np.percentile(human[d], q)) for q in (10, 50, 90))
        print(f"\n{d}: {len(human[d])} charts; human rest measures median {100 * med:.1f}%, "
              f"P10-P90 {100 * lo:.1f}-{100 * hi:.1f}%")
        e_lo, e_hi = (float(np.percentile(human_eighths[d], q)) for q in (10, 90))
        print(f"8th notes: human P10-P90 {100 * e_lo:.1f}-{100 * e_hi:.1f}%")
        print(f"{'floor':>6} {'median':>7} {'outside':>7} {'F':>6} {'P':>6} {'R':>6} {'8ths':>6} {'outside':>7}")
        for f in settings:
            r = np.asarray(rests[d][f])
            s, e = scores[d][f], np.asarray(eighths[d][f])
            print(f"{'off' if f is None else f:>6} {100 * np.median(r):6.1f}% {int(np.sum((r < lo) | (r > hi))):7d} "
                  f"{s.f:6.3f} {s.precision:6.3f} {s.recall:6.3f} {100 * np.median(e):5.1f}% "
                f"{int(np.sum((e < e_lo) | (e > e_hi))):7d}")
        base_f, base_gap = scores[d][None].f, abs(np.median(rests[d][None]) - med)
        ok = [f for f in FLOORS if scores[d][f].f >= base_f - MAX_F_DROP
              and abs(np.median(rests[d][f]) - med) < base_gap]
        chosen[d] = min(ok, key=lambda f: (round(abs(float(np.median(rests[d][f])) - med), 4), -f)) if ok else None
    print("\nchosen: REST_FILL_FLOOR = {" + ", ".join(f'"{d}": {f}' for d, f in chosen.items()) + "}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
