"""Fit the meter regressor of ``ddc_sm/simfiles/meter.py`` on the train+valid human charts and score it (issue #12,
item 7), beside the line it replaced.

    python benchmarks/meters.py                          # human charts under ../shared/data
    nice -n 19 python benchmarks/meters.py --generated   # and the meters `ddc-sm make -d all` writes for the
                                                         # test songs' audio (about 2 minutes)
    python benchmarks/meters.py --generated --generated-dir DIR   # keep (and reuse) the generated songs in DIR

Songs are split by song (``ddc_sm/simfiles/split_shared_data.json``; a song the file does not list goes where
training puts it, never to test).  Only train+valid charts choose anything; the test charts are only scored.

The fit (what ``meter.py``'s constants are):

1. every chart's ``CANDIDATES`` statistics (:func:`ddc_sm.simfiles.meter.meter_features`; the radar over the
   music's length from the audio file's header);
2. the train+valid songs in ``FOLDS`` folds by song (sorted by the SHA-1 of their key, dealt round-robin);
3. forward selection: starting from the per-difficulty offsets alone, add the candidate that lowers the
   cross-validated mean absolute error of the estimate most, while it lowers it by at least ``MIN_GAIN`` and up
   to ``MAX_FEATURES`` features;
4. the model: an offset per difficulty (not penalised) plus a coefficient per chosen feature (standardised, ridge
   ``RIDGE``), fitted by least absolute deviations (iteratively reweighted least squares, residuals floored at
   ``IRLS_FLOOR``); refitted on all train+valid charts and written back on the raw scale, rounded to
   ``DECIMALS``.

Scores, as mean absolute errors against the human #METER: the estimate itself, and the meters written for each
song's charts (:func:`ddc_sm.simfiles.meter.song_meters` over the song's charts: whole, strictly increasing,
within ``METER_RANGE``); on train+valid cross-validated (each fold fitted without its songs), on test fitted on
all train+valid.  Beside them the line it replaced: ``OLD_LINE`` = 1.2 + 1.78 × (non-empty rows - 1) / their
time span (least squares on train+valid, all difficulties pooled), rounded, bounded by ``METER_RANGE`` and raised
where needed so that no harder difficulty reads lower (the old ``monotone_meters``).

With ``--generated``: ``ddc-sm make -d all`` on a copy of each test song's audio; the meters it wrote against
the human meters of the same song and difficulty (where the song has a human chart of that difficulty), and what
the old line would have written for the same generated charts.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "data"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FOLDS = 10
MIN_GAIN = 0.01  # a feature must lower the cross-validated MAE by at least this much (meters)
MAX_FEATURES = 4
RIDGE = 1.0
IRLS_FLOOR = 0.1
IRLS_ITERATIONS = 200
DECIMALS = 3
OLD_LINE = (1.2, 1.78)


@dataclass
class Chart:
    song: str
    part: str  # train, valid, test (or generated)
    difficulty: str
    meter: int
    features: dict


@dataclass
class Model:
    features: tuple
    offsets: dict  # difficulty -> offset
    coefficients: dict  # feature -> coefficient (raw scale)

    def estimate(self, chart: Chart) -> float:
        return self.offsets[chart.difficulty] + sum(self.coefficients[f] * chart.features[f] for f in self.features)


def old_line_rate(times: Sequence[float]) -> float:
    """What the old line read: (non-empty rows - 1) / their time span."""
    if len(times) < 2:
        return 0.0
    span = float(times[-1]) - float(times[0])
    return (len(times) - 1) / span if span > 0 else 0.0


def old_written(charts: Sequence[Chart]) -> dict[str, int]:
    """The meters the old code wrote for one song's charts (difficulty -> meter)."""
    from ddc_sm.difficulty import DIFFICULTIES
    from ddc_sm.simfiles.meter import METER_RANGE

    out, floor = {}, 1
    for c in sorted(charts, key=lambda c: DIFFICULTIES.index(c.difficulty)):
        lo, hi = METER_RANGE[c.difficulty]
        m = int(min(hi, max(lo, round(OLD_LINE[0] + OLD_LINE[1] * c.features["old_line_rate"]))))
        out[c.difficulty] = max(m, floor)
        floor = out[c.difficulty]
    return out


def chart_of(song: str, part: str, difficulty: str, meter: int, times, rows, beats, song_seconds,
             names=None) -> Chart:
    from ddc_sm.simfiles.meter import meter_features

    features = meter_features(times, rows, beats, song_seconds=song_seconds, names=names)
    features["old_line_rate"] = old_line_rate(times)
    return Chart(song, part, difficulty, meter, features)


def load_charts(root: Path, log=print, names=None) -> tuple[list[Chart], dict]:
    """Every human chart under ``root`` with its part and features (all ``CANDIDATES``, or ``names``); and the
    test songs (key -> SongData)."""
    from ddc_sm.audio.decode import header_duration
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    charts, test_songs, no_audio = [], {}, 0
    for song in iter_songs([root]):
        part = training_part(song.key, split)
        if song.audio_path is None:
            no_audio += len(song.charts)
            continue
        if part == "test":
            test_songs[song.key] = song
        seconds = header_duration(song.audio_path)
        for c in song.charts:
            charts.append(chart_of(song.key, part, c.difficulty, c.meter, c.times, c.rows, c.beats, seconds, names))
    if no_audio:
        log(f"({no_audio} charts of songs without audio left out: the radar needs the music's length)")
    return charts, test_songs


def song_folds(songs: Sequence[str], folds: int = FOLDS) -> dict[str, int]:
    """Fold of each song: sorted by the SHA-1 of its key, dealt round-robin."""
    order = sorted(set(songs), key=lambda s: hashlib.sha1(s.encode("utf-8")).hexdigest())
    return {s: i % folds for i, s in enumerate(order)}


def fit(charts: Sequence[Chart], features: Sequence[str], ridge: float = RIDGE) -> Model:
    """Per-difficulty offsets plus coefficients on ``features``: least absolute deviations, ridge on the
    standardised features (see the module docstring)."""
    from ddc_sm.difficulty import DIFFICULTIES

    features = tuple(features)
    present = [d for d in DIFFICULTIES if any(c.difficulty == d for c in charts)]
    onehot = np.array([[c.difficulty == d for d in present] for c in charts], dtype=np.float64)
    raw = np.array([[c.features[f] for f in features] for c in charts], dtype=np.float64).reshape(len(charts), -1)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    scale[scale == 0] = 1.0
    x = np.c_[onehot, (raw - mean) / scale]
    y = np.array([c.meter for c in charts], dtype=np.float64)
    penalty = np.diag([0.0] * len(present) + [ridge] * len(features))
    w = np.linalg.solve(x.T @ x + penalty, x.T @ y)
    for _ in range(IRLS_ITERATIONS):
        q = 1.0 / np.maximum(np.abs(y - x @ w), IRLS_FLOOR)
        new = np.linalg.solve((x * q[:, None]).T @ x + penalty * q.mean(), (x * q[:, None]).T @ y)
        done = np.max(np.abs(new - w)) < 1e-12
        w = new
        if done:
            break
    coef = w[len(present):] / scale
    shift = float(coef @ mean) if features else 0.0
    offsets = {d: float(w[i]) - shift for i, d in enumerate(present)}
    return Model(features, offsets, {f: float(v) for f, v in zip(features, coef)})


def rounded(model: Model, decimals: int = DECIMALS) -> Model:
    return Model(model.features, {d: round(v, decimals) for d, v in model.offsets.items()},
                 {f: round(v, decimals) for f, v in model.coefficients.items()})


def by_song(charts: Sequence[Chart]) -> dict[str, list[Chart]]:
    out: dict[str, list[Chart]] = {}
    for c in charts:
        out.setdefault(c.song, []).append(c)
    return out


def written_meters(model: Model, charts: Sequence[Chart]) -> dict[str, int]:
    """The meters a run writing one song's ``charts`` gives them (difficulty -> meter)."""
    from ddc_sm.simfiles.meter import song_meters

    return song_meters({c.difficulty: model.estimate(c) for c in charts})


def errors(model: Model, charts: Sequence[Chart]) -> tuple[list[float], list[float]]:
    """|estimate - meter| and |written meter - meter| of each chart (written per song)."""
    est, wri = [], []
    for group in by_song(charts).values():
        meters = written_meters(model, group)
        for c in group:
            est.append(abs(model.estimate(c) - c.meter))
            wri.append(abs(meters[c.difficulty] - c.meter))
    return est, wri


def cross_validated(charts: Sequence[Chart], features: Sequence[str]) -> tuple[float, float]:
    """Mean absolute error of the estimate and of the written meters, each fold fitted without its songs."""
    folds = song_folds([c.song for c in charts])
    est, wri = [], []
    for k in range(FOLDS):
        held = [c for c in charts if folds[c.song] == k]
        if not held:
            continue
        model = fit([c for c in charts if folds[c.song] != k], features)
        e, w = errors(model, held)
        est += e
        wri += w
    return float(np.mean(est)), float(np.mean(wri))


def forward_selection(charts: Sequence[Chart], candidates: Sequence[str], log=None) -> tuple[tuple, list]:
    """The chosen features and the path: [(features, cross-validated MAE of the estimate)] from none."""
    chosen: tuple = ()
    best = cross_validated(charts, chosen)[0]
    path = [(chosen, best)]
    while len(chosen) < MAX_FEATURES:
        trials = sorted((cross_validated(charts, chosen + (f,))[0], f) for f in candidates if f not in chosen)
        if not trials or trials[0][0] > best - MIN_GAIN:
            break
        best, f = trials[0]
        chosen += (f,)
        path.append((chosen, best))
        if log:
            log(f"  + {f:22} {best:.3f}   (next best: " +
                ", ".join(f"{g} {e:.3f}" for e, g in trials[1:4]) + ")")
    return chosen, path


def old_errors(charts: Sequence[Chart]) -> tuple[list[float], list[float]]:
    """|line - meter| and |old written meter - meter| of each chart."""
    line, wri = [], []
    for group in by_song(charts).values():
        meters = old_written(group)
        for c in group:
            line.append(abs(OLD_LINE[0] + OLD_LINE[1] * c.features["old_line_rate"] - c.meter))
            wri.append(abs(meters[c.difficulty] - c.meter))
    return line, wri


def generated_charts(test_songs: dict, out_dir: Path, log=print) -> list[tuple[Chart, int]]:
    """(chart as written, with the meter it was written with; the human meter of its song and difficulty) for
    the generated charts of the test songs that have a human chart of that difficulty."""
    from ddc_sm.audio.decode import header_duration
    from benchmarks.patterns import make_songs

    out = []
    for key, song, reused in make_songs(test_songs, out_dir, log=log):
        human = {c.difficulty: c.meter for c in test_songs[key].charts}
        seconds = header_duration(song.audio_path) if song.audio_path else None
        for c in song.charts:
            if c.difficulty in human:
                out.append((chart_of(key, "generated", c.difficulty, c.meter, c.times, c.rows, c.beats, seconds),
                            human[c.difficulty]))
        log(f"  {key}: {len(song.charts)} charts" + (" (generated before, reused: their meters are what was "
                                                     "written then)" if reused else ""))
    return out


def constants_text(model: Model) -> str:
    return (f"FEATURES = {model.features!r}\n"
            "OFFSETS = {" + ", ".join(f'"{d}": {v:g}' for d, v in model.offsets.items()) + "}\n"
            "COEFFICIENTS = {" + ", ".join(f'"{f}": {v:g}' for f, v in model.coefficients.items()) + "}")


def main(argv=None) -> int:
    from ddc_sm import threads as thread_policy

    thread_policy.configure()  # one thread, or $DDC_SM_THREADS (ddc_sm/threads.py): a busy machine does not thrash
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="folder of packs (default ../shared/data)")
    ap.add_argument("--generated", action="store_true", help="also chart each test song with `ddc-sm make -d all`")
    ap.add_argument("--generated-dir", type=Path, default=None,
                    help="where the generated songs go (kept, and reused when present); default: a temporary folder")
    args = ap.parse_args(argv)
    if not args.root.exists():
        print(f"skipped: {args.root} not found (the human charts of ../shared/data are needed)")
        return 0
    from ddc_sm.simfiles import meter

    charts, test_songs = load_charts(args.root)
    fit_on = [c for c in charts if c.part in ("train", "valid")]
    test = [c for c in charts if c.part == "test"]
    print(f"{args.root}: fitted on train+valid ({len({c.song for c in fit_on})} songs, {len(fit_on)} charts), "
          f"test scored only ({len(test_songs)} songs, {len(test)} charts)")
    if not fit_on:
        print("no train/valid charts: nothing to fit")
        return 1

    print(f"\nforward selection ({FOLDS}-fold cross-validation by song on train+valid; MAE of the estimate; "
          f"a feature must gain {MIN_GAIN}):")
    print(f"  offsets only             {cross_validated(fit_on, ())[0]:.3f}")
    chosen, _path = forward_selection(fit_on, list(meter.CANDIDATES), log=print)
    model = rounded(fit(fit_on, chosen))
    code = Model(tuple(meter.FEATURES), dict(meter.OFFSETS), dict(meter.COEFFICIENTS))
    print("\nfitted on all train+valid charts (paste into ddc_sm/simfiles/meter.py):")
    print(constants_text(model))
    print("in the code: " + ("the same" if constants_text(code) == constants_text(model) else "\n" + constants_text(code)))

    cv_est, cv_wri = cross_validated(fit_on, chosen)
    te_est, te_wri = errors(code, test)
    tv_line, tv_old = old_errors(fit_on)
    te_line, te_old = old_errors(test)
    print("\nmean absolute meter error against the human #METER (estimate; meters written per song: whole, strictly "
          "increasing, within the ranges)")
    print(f"{'charts':30} {'old line':>8} {'written':>7} | {'regressor':>9} {'written':>7}")
    print(f"{'train+valid (regressor CV)':30} {np.mean(tv_line):8.3f} {np.mean(tv_old):7.3f} | "
          f"{cv_est:9.3f} {cv_wri:7.3f}")
    print(f"{'test (the code constants)':30} {np.mean(te_line):8.3f} {np.mean(te_old):7.3f} | "
          f"{np.mean(te_est):9.3f} {np.mean(te_wri):7.3f}")
    print("(the old line's two constants are fitted on all train+valid charts, not cross-validated)")
    for pack in sorted({c.song.split("/")[0] for c in test}):
        group = [c for c in test if c.song.split("/")[0] == pack]
        line, old = old_errors(group)
        est, wri = errors(code, group)
        print(f"{'  test, ' + pack + f' ({len(group)})':30} {np.mean(line):8.3f} {np.mean(old):7.3f} | "
              f"{np.mean(est):9.3f} {np.mean(wri):7.3f}")

    if args.generated:
        print(f"\ncharting the {len(test_songs)} test songs' audio with `ddc-sm make -d all` ...")
        if args.generated_dir is not None:
            pairs = generated_charts(test_songs, args.generated_dir)
        else:
            with tempfile.TemporaryDirectory(prefix="ddc-sm-meters-") as tmp:
                pairs = generated_charts(test_songs, Path(tmp))
        written = [abs(c.meter - human) for c, human in pairs]
        human = {(c.song, c.difficulty): h for c, h in pairs}
        old = [abs(m - human[(song, d)]) for song, group in by_song([c for c, _h in pairs]).items()
               for d, m in old_written(group).items()]
        print(f"\ngenerated test charts with a human chart of the same song and difficulty: {len(pairs)}")
        print(f"  mean absolute error of the meters make wrote: {np.mean(written):.3f}  "
              f"(the old line on the same charts: {np.mean(old):.3f})")
        from ddc_sm.difficulty import DIFFICULTIES

        for d in DIFFICULTIES:
            sel = [(c, h) for c, h in pairs if c.difficulty == d]
            if sel:
                print(f"  {d:10} {len(sel):2d} charts: written {np.mean([abs(c.meter - h) for c, h in sel]):.2f}; "
                      f"meters written {sorted(c.meter for c, _ in sel)}, human {sorted(h for _, h in sel)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
