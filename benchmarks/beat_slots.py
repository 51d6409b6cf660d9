"""Beginner steps on the strongest beats (issue #12 item 6): fits ``BEAT_SLOT_BONUS`` of ``ddc_sm/pipeline/make.py``.

    OMP_NUM_THREADS=1 python benchmarks/beat_slots.py                 # Beginner; about 3 minutes
    OMP_NUM_THREADS=1 python benchmarks/beat_slots.py --difficulty Easy

For every song of ``../shared/data`` with a chart of the difficulty: the shipped placement model's probabilities
(given the grid ``make`` estimates from the audio, as ``make`` does), the steps ``make`` placed before the rule
(:func:`ddc_sm.pipeline.make.density_bounded_times`, then :func:`~ddc_sm.pipeline.make.rest_filled_times` on the
estimated grid) and those steps moved onto the best-scoring beats of the same grid
(:func:`~ddc_sm.pipeline.make.beat_slot_times`) for each bonus pair and floor on a small grid.  Placement F at ±20 ms
(pooled per part, matched one to one) and the median share of rest measures (measures between the first and
the last step with none), beside the human charts'.  The values with the best F on train+valid are printed
(``BEAT_SLOT_BONUS``, ``BEAT_SLOT_FLOOR``); the `test` part is reported, never used for the choice.
"""

from __future__ import annotations

import sys
from itertools import product
from pathlib import Path

import numpy as np

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import data_missing, data_parser  # noqa: E402

STRONG = (0.05, 0.1, 0.15, 0.2, 0.3)  # bonus on beats 1 and 3
DOWNBEAT = (0.0, 0.05, 0.1)  # and on the downbeat
FLOORS = (0.0, 0.05, 0.1)  # beats heard below this come last (0: no floor)


def collect(root: Path, difficulty: str, log=print):
    """Per song with a chart of ``difficulty``: (part, duration, probability, estimated grid, steps before the rule,
    human step times, song key)."""
    from ddc_sm.audio.cache import cached_features
    from ddc_sm.pipeline.make import density_bounded_times, rest_filled_times
    from ddc_sm.placement.inference import load_placer
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part
    from ddc_sm.timing.grid import GRID_RULES

    placer = load_placer(None)
    split = load_split()
    out = []
    for song in iter_songs([root]):
        charts = [c for c in song.charts if c.difficulty == difficulty]
        if not charts or song.audio_path is None:
            continue
        feats = cached_features(song.audio_path, "placement")
        duration = (feats.shape[-1] - 1) / 100.0
        grid = placer.estimated_grid(song.audio_path)
        prob = placer.probabilities(feats, [difficulty], grid)[difficulty]
        before = density_bounded_times(placer, prob, difficulty, duration)
        before = rest_filled_times(placer, prob, difficulty, duration, grid, before, GRID_RULES[difficulty])
        out.append((training_part(song.key, split), duration, prob, grid, before, np.asarray(charts[0].times),
                    song.key))
        print(f"\r  {len(out)} songs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return placer, out


def rest_share(times, grid) -> float:
    """Share of the measures from the first step's to the last's with no step."""
    if len(times) < 2:
        return 0.0
    measures = np.floor(np.asarray(grid.beat_at(np.asarray(times))) / 4 + 1e-6).astype(int)
    return 1.0 - len(set(measures.tolist())) / (measures.max() - measures.min() + 1)


def main(argv=None) -> int:
    args = data_parser(__doc__, difficulty="Beginner").parse_args(argv)
    if data_missing(args.root):
        return 0
    from ddc_sm.pipeline.evaluate import TOLERANCE_S
    from ddc_sm.pipeline.make import BEAT_SLOT_BONUS, BEAT_SLOT_FLOOR, beat_slot_times
    from ddc_sm.placement.metrics import FScore, match_f_score

    d = args.difficulty
    placer, songs = collect(args.root, d)
    parts = {"train+valid": ("train", "valid"), "test": ("test",)}

    def moved(bonus, floor):
        return [beat_slot_times(placer, prob, d, dur, grid, before, bonus=bonus, floor=floor)
                for _p, dur, prob, grid, before, _h, _k in songs]

    def f_score(times, part) -> float:
        total = FScore(0, 0, 0)
        for t, (p, *_rest, human, _key) in zip(times, songs):
            if p in parts[part]:
                total = total + match_f_score(t, human, tol=TOLERANCE_S)
        return total.f

    def rests(times, part) -> float:
        return float(np.median([rest_share(t, s[3]) for t, s in zip(times, songs) if s[0] in parts[part]]))

    counts = {part: sum(1 for s in songs if s[0] in ps) for part, ps in parts.items()}
    print(f"{d}: {counts['train+valid']} train+valid and {counts['test']} test charts; placement F at ±20 ms "
          "(pooled), median rest-measure share")
    before = [s[4] for s in songs]
    human = [s[5] for s in songs]
    print(f"  {'rule':40} {'F train+valid':>13} {'F test':>7} {'rest t+v':>9} {'rest test':>9}")

    def line(name, times, with_f=True):
        f = f"{f_score(times, 'train+valid'):13.3f} {f_score(times, 'test'):7.3f}" if with_f else f"{'':13} {'':7}"
        print(f"  {name:40} {f} {100 * rests(times, 'train+valid'):8.1f}% {100 * rests(times, 'test'):8.1f}%")

    line("human charts", human, with_f=False)
    line("before (peaks, density, rest fill)", before)
    results = {}
    for strong, down, floor in product(STRONG, DOWNBEAT, FLOORS):
        times = moved((strong, down), floor)
        results[(strong, down, floor)] = (f_score(times, "train+valid"), times)
        line(f"bonus {strong:.2f} / {down:.2f}, heard floor {floor:.2f}", times)
    best = max(results, key=lambda b: results[b][0])
    print(f"\nbest on train+valid: bonus {best[0]:.2f} / {best[1]:.2f}, floor {best[2]:.2f} (F {results[best][0]:.3f}, "
          f"test {f_score(results[best][1], 'test'):.3f}); in the code: BEAT_SLOT_BONUS[{d!r}] "
          f"{BEAT_SLOT_BONUS.get(d)}, BEAT_SLOT_FLOOR[{d!r}] {BEAT_SLOT_FLOOR.get(d)}")
    shipped = BEAT_SLOT_BONUS.get(d)
    if shipped is not None:
        print("per test song, F before -> with the code's values:")
        for t0, t1, s in zip(before, moved(shipped, None), songs):
            if s[0] == "test":
                print(f"  {s[6][:60]:60} {match_f_score(t0, s[5], tol=TOLERANCE_S).f:.3f} -> "
                      f"{match_f_score(t1, s[5], tol=TOLERANCE_S).f:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
