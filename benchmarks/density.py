"""How many steps placement keeps per song: the density clamp against a per-song density target.

    python benchmarks/density.py                    # the shipped weights; fit on valid, report valid and test
    python benchmarks/density.py --weights DIR

Three ways to turn stage 1's probabilities into a chart's step count, scored by placement F at ±20 ms (pooled
per difficulty) and by the generated/human density ratio (median over charts) on each split part:

* ``threshold``: the difficulty's validation threshold alone (the F-optimal rule, no density control);
* ``clamp``: what `make` did before, ``STEP_DENSITY_RANGE`` (``density_bounded_times``): the threshold, moved
  when the density leaves a fixed per-difficulty band of the train charts;
* ``target``: a density target per song: ``log(human rate) = a_d + b log(rate at the threshold)``, one slope for
  all difficulties and an intercept per difficulty, fitted by least squares on the ``--fit`` part's charts
  (default ``valid``: the model's rates on its own training songs are not what it does on new songs), the
  target kept inside the train charts' 5th-95th percentile of the difficulty; the threshold is then moved so
  the chart has the target's count.  The song's own music sets the count: a busy song gets more steps than a
  sparse one, where the clamp gives every song the same band.

Placement is as `make` does it (a beat-aware model gets the grid `make` estimates); the rest filling is left out
here (it adds steps after the count is chosen and is the same for every rule).  Prints the fitted constants as
``DENSITY_TARGET`` for ``ddc_sm/pipeline/make.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_ROOT = REPO.parent / "shared" / "data"


def collect(root: Path, weights, parts: set[str]):
    """Per chart: (part, difficulty, duration, probabilities, human times)."""
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.placement.inference import load_placer
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part
    from ddc_sm.timing.estimated import estimated_timing

    placer = load_placer(str(weights) if weights else None)
    split = load_split()
    out = []
    for song in iter_songs([root]):
        part = training_part(song.key, split)
        if part not in parts or song.audio_path is None or not song.charts:
            continue
        pfeats = cached_features(song.audio_path, "placement")
        grid = estimated_timing(song.audio_path)
        diffs = sorted({c.difficulty for c in song.charts})
        probs = placer.probabilities(pfeats, diffs, grid)
        duration = (pfeats.shape[-1] - 1) / 100.0
        for c in song.charts:
            out.append((part, c.difficulty, duration, probs[c.difficulty], np.asarray(c.times), grid))
        print(f"\r {len(out)} charts", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return placer, out


def train_rate_range(root: Path, lo: float = 5, hi: float = 95) -> dict[str, tuple[float, float]]:
    """Rows per second of the train part's human charts: the ``lo``-``hi`` percentile per difficulty."""
    from benchmarks.fit_constants import chart_rates

    return {d: (round(float(np.percentile(r, lo)), 2), round(float(np.percentile(r, hi)), 2))
            for d, r in chart_rates(root, "train").items()}


def fit_target(charts, placer, parts: set[str]) -> tuple[float, dict[str, float]]:
    """Least squares of log(human rate) on log(rate at the threshold): (slope, intercept per difficulty)."""
    from ddc_sm import DIFFICULTIES

    rows = [(d, np.log(max(len(placer.times_from_probability(p, d)), 1) / dur), np.log(max(len(h), 1) / dur))
            for part, d, dur, p, h, _g in charts if part in parts]
    diffs = [d for d in DIFFICULTIES if any(r[0] == d for r in rows)]
    X = np.zeros((len(rows), 1 + len(diffs)))
    y = np.zeros(len(rows))
    for i, (d, x, t) in enumerate(rows):
        X[i, 0] = x
        X[i, 1 + diffs.index(d)] = 1.0
        y[i] = t
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(coef[0]), {d: float(coef[1 + i]) for i, d in enumerate(diffs)}


def main() -> int:
    from ddc_sm import DIFFICULTIES
    from ddc_sm import threads as thread_policy
    from ddc_sm.pipeline.make import count_bounded_times, density_bounded_times
    from ddc_sm.pipeline.evaluate import TOLERANCE_S
    from ddc_sm.placement.metrics import FScore, match_f_score

    thread_policy.configure()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--fit", default="valid", help="the part the target is fitted on (train, valid or train+valid)")
    args = ap.parse_args()
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the shared data is needed for this benchmark)")
        return 0
    fit_parts = set(args.fit.split("+"))
    placer, charts = collect(args.root, args.weights, fit_parts | {"valid", "test"})
    slope, intercepts = fit_target(charts, placer, fit_parts)
    bands = train_rate_range(args.root)
    print(f"fitted on {args.fit} ({sum(1 for c in charts if c[0] in fit_parts)} charts): log(target rate) = a_d + "
          f"{slope:.3f} log(rate at the threshold)")
    print("DENSITY_TARGET = {" + ", ".join(f'"{d}": ({intercepts[d]:.3f}, {slope:.3f}, {bands[d][0]}, {bands[d][1]})'
                                          for d in DIFFICULTIES if d in intercepts) + "}")

    def target_times(p, d, dur):
        a = intercepts.get(d)
        if a is None:
            return placer.times_from_probability(p, d)
        n = len(placer.times_from_probability(p, d))
        rate = float(np.exp(a + slope * np.log(max(n, 1) / dur)))
        lo, hi = bands[d]
        return count_bounded_times(placer, p, d, int(round(min(max(rate, lo), hi) * dur)))

    from ddc_sm.pipeline.make import STEP_DENSITY_RANGE
    from ddc_sm.placement.peaks import smooth_probability

    def measure_quota(p, d, dur, grid, scale=1.0):
        """In each measure of the grid, the strongest peaks up to the difficulty's rate times the measure's length."""
        cand = placer.times_from_probability(p, d, threshold=0.02)
        if len(cand) == 0:
            return cand
        h = smooth_probability(p, placer.smooth)[np.clip(np.rint(cand * 100).astype(int), 0, len(p) - 1)]
        beats = grid.beat_at(cand)
        measure = np.floor(beats / 4).astype(int)
        rate = scale * STEP_DENSITY_RANGE[d][1]
        quota = rate * 4 * 60.0 / grid.bpm
        keep = []
        carry = 0.0
        for m in np.unique(measure):
            idx = np.nonzero(measure == m)[0]
            q = quota + carry
            k = int(np.floor(q))
            carry = q - k
            best = idx[np.argsort(-h[idx], kind="stable")[:k]]
            keep.extend(best.tolist())
        return np.sort(cand[keep])

    rules = {"threshold": lambda p, d, dur, g: placer.times_from_probability(p, d),
             "clamp": lambda p, d, dur, g: density_bounded_times(placer, p, d, dur),
             "target": lambda p, d, dur, g: target_times(p, d, dur),
             "quota": measure_quota,
             "quota x1.3": lambda p, d, dur, g: measure_quota(p, d, dur, g, 1.3)}
    for part in ("valid", "test"):
        sel = [c for c in charts if c[0] == part]
        if not sel:
            continue
        print(f"\n{part}: {len(sel)} charts; placement F at ±20 ms pooled (density generated/human, median)")
        print(f"{'rule':10} {'pooled':>13} " + " ".join(f"{d:>13}" for d in DIFFICULTIES))
        for name, rule in rules.items():
            total, per, ratio = FScore(0, 0, 0), {}, {}
            for _part, d, dur, p, h, g in sel:
                t = rule(p, d, dur, g)
                m = match_f_score(t, h, tol=TOLERANCE_S)
                f = FScore(int(m["tp"]), int(m["fp"]), int(m["fn"]))
                total = total + f
                per[d] = per.get(d, FScore(0, 0, 0)) + f
                ratio.setdefault(d, []).append(len(t) / max(len(h), 1))
            every = [r for v in ratio.values() for r in v]
            cells = [f"{per[d].f:.3f} ({np.median(ratio[d]):.2f})" if d in per else f"{'-':>13}" for d in DIFFICULTIES]
            print(f"{name:10} {total.f:.3f} ({np.median(every):.2f}) " + " ".join(f"{c:>13}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
