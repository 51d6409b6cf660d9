"""Where holds let go (issue #13): the share of hold/roll tails that share a row with a step, human and generated,
and the constants of :mod:`ddc_sm.selection.holds`.

    python benchmarks/hold_tails.py                                       # human charts under ../shared/data
    OMP_NUM_THREADS=1 python benchmarks/hold_tails.py --generated-dir /tmp/tails   # and the package's charts

Human figures, per difficulty and part (train+valid, test): tails, the share of them in a row with a step
(pooled), the median gap in beats from a tail on a row of its own to the next step (``RELEASE_BEATS``), the
10th percentile of the holds' lengths (``MIN_HOLD_BEATS``) and, of the holds that had room to let go before
their next step (:func:`ddc_sm.selection.holds.release_class`), the share released, by class
(``RELEASE_CHANCE``; the train+valid figures are the constants, the test ones are beside them for comparison).

With ``--generated-dir DIR``: the charts the package generates (``generate_charts`` with ``make``'s estimated
timing, all five difficulties, seed 0) for the 10 `valid` songs and 10 `train` songs (a seeded choice), without
the release (``release_holds=False``; cached in DIR as JSON, reused), and their share of tails with a step
before and after :func:`ddc_sm.selection.holds.release_tails` (seed 0), against the train+valid human share.
No `test` song is generated.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import data_missing, data_parser  # noqa: E402
from ddc_sm.simfiles.stats import tail_counts  # noqa: E402

N_TRAIN_SONGS = 10


def human_figures(songs, split) -> dict:
    from ddc_sm.selection.holds import release_class
    from ddc_sm.simfiles.rows import HEADS, TAIL, step_columns
    from ddc_sm.simfiles.splits import training_part

    out = defaultdict(lambda: {"shared": 0, "tails": 0, "gaps": [], "lengths": [],
                               "room": defaultdict(lambda: [0, 0])})  # class -> [released, kept on the step]
    for song in songs:
        part = "test" if training_part(song.key, split) == "test" else "train+valid"
        for c in song.charts:
            e = out[(part, c.difficulty)]
            shared, tails = tail_counts(c.rows)
            e["shared"] += shared
            e["tails"] += tails
            step_rows = [i for i, r in enumerate(c.rows) if step_columns(r)]
            heads = {}
            for i, (b, r) in enumerate(zip(c.beats, c.rows)):
                for col, ch in enumerate(r):
                    if ch in HEADS:
                        heads[col] = i
                    elif ch == TAIL and col in heads:
                        h = heads.pop(col)
                        e["lengths"].append(float(b - c.beats[h]))
                        j = next((k for k in step_rows if k >= i), None)  # the next step row, the tail's own too
                        if j is None:
                            continue
                        if j > i:
                            e["gaps"].append(float(c.beats[j] - b))
                        before = max([c.beats[k] for k in range(h, j) if k != i], default=c.beats[h])
                        kind = release_class(c.beats[h], c.beats[j], before, c.rows[j], c.difficulty)
                        if kind is not None:
                            e["room"][kind][0 if j > i else 1] += 1
    return out


def generated_charts(songs, out_dir: Path, log=print) -> dict:
    """{song key: {difficulty: (beats as strings, rows)}} of the package's charts without the release."""
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.difficulty import DIFFICULTIES
    from ddc_sm.pipeline.make import generate_charts
    from ddc_sm.timing.estimated import estimated_timing

    out_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for song in songs:
        cache = out_dir / (song.key.replace("/", " - ") + ".json")
        try:
            out[song.key] = json.loads(cache.read_text(encoding="utf-8"))
            continue
        except (OSError, ValueError):
            pass
        audio = load_audio(song.audio_path)
        charts, _ = generate_charts(audio, list(DIFFICULTIES), estimated_timing(song.audio_path),
                                    release_holds=False)
        out[song.key] = {c.difficulty: ([str(b) for b in c.beats], list(c.rows)) for c in charts}
        cache.write_text(json.dumps(out[song.key]), encoding="utf-8")
        log(f"  {song.key}: generated")
    return out


def main(argv=None) -> int:
    ap = data_parser(__doc__)
    ap.add_argument("--generated-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    if data_missing(args.root):
        return 0
    from ddc_sm.difficulty import DIFFICULTIES
    from ddc_sm.selection.holds import RELEASE_CLASSES, release_tails
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part

    split = load_split()
    songs = list(iter_songs([args.root]))
    human = human_figures(songs, split)
    print("human charts: tails with a step (pooled), lone tail -> next step (median beats), hold length P10 "
          "(beats); of the holds with room to let go before the next step, the share released, by class")
    for part in ("train+valid", "test"):
        for d in DIFFICULTIES:
            e = human[(part, d)]
            share = e["shared"] / e["tails"] if e["tails"] else float("nan")
            gap = np.median(e["gaps"]) if e["gaps"] else float("nan")
            p10 = np.percentile(e["lengths"], 10) if e["lengths"] else float("nan")
            rates = "  ".join(f"{k} {_rate(e['room'][k])}" for k in RELEASE_CLASSES)
            print(f"  {part:11} {d:9} tails {e['tails']:5}  with a step {100 * share:5.1f}%  "
                  f"gap {gap:4.2f}  hold P10 {p10:4.2f}  released: {rates}")
    print("RELEASE_CHANCE (train+valid): {" + ", ".join(
        f'"{d}": {{' + ", ".join(f'"{k}": {_chance(human[("train+valid", d)]["room"][k]):.2f}'
                                 for k in RELEASE_CLASSES) + "}" for d in DIFFICULTIES) + "}")
    if args.generated_dir is None:
        return 0
    valid = sorted((s for s in songs if training_part(s.key, split) == "valid" and s.audio_path), key=lambda s: s.key)
    train = sorted((s for s in songs if training_part(s.key, split) == "train" and s.audio_path), key=lambda s: s.key)
    chosen = [train[i] for i in sorted(np.random.default_rng(0).choice(len(train), N_TRAIN_SONGS, replace=False))]
    generated = generated_charts(valid + chosen, args.generated_dir)
    print(f"\ngenerated charts of {len(valid)} valid + {len(chosen)} train songs: tails with a step")
    print(f"  {'':9} {'human':>7} {'as selected':>12} {'released':>9}")
    for d in DIFFICULTIES:
        e = human[("train+valid", d)]
        counts = np.zeros((2, 2), dtype=int)
        for charts in generated.values():
            if d not in charts:
                continue
            beats, rows = charts[d]
            counts[0] += tail_counts(rows)
            counts[1] += tail_counts(release_tails([Fraction(b) for b in beats], rows, d)[1])
        before, after = (c[0] / c[1] if c[1] else float("nan") for c in counts)
        print(f"  {d:9} {100 * e['shared'] / e['tails']:6.1f}% {100 * before:11.1f}% {100 * after:8.1f}%")
    return 0


def _chance(counts) -> float:
    released, kept = counts
    return released / (released + kept) if released + kept else 0.0


def _rate(counts) -> str:
    return f"{100 * _chance(counts):3.0f}% of {sum(counts):4}"


if __name__ == "__main__":
    raise SystemExit(main())
