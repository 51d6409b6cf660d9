"""How much the musicality critic reads the timing rather than the arrows (issue #13's critic figure).

    OMP_NUM_THREADS=1 python benchmarks/critic_timing.py            # Beginner; about 2 minutes
    OMP_NUM_THREADS=1 python benchmarks/critic_timing.py --difficulty Medium
    OMP_NUM_THREADS=1 python benchmarks/critic_timing.py --critic DIR    # another critic.pt

The critic (:mod:`ddc_sm.selection.critic`) is trained on human charts against corrupted copies with the same
times, so it should judge arrows; this prints how its score moves when only the times change:

* every train+valid human chart of the difficulty with its own times, and with the same arrows evenly spaced
  (at its median gap);
* on the `valid` songs: the human chart's arrows (its rows in order) and ours, on the row times of the chart
  ``generate_charts`` makes with the grid ``make`` estimates, with and without Beginner's beat slots
  (``BEAT_SLOT_BONUS``; for another difficulty both runs are the same), and our chart with every single tap on a
  random panel (``critic.corrupt(rows, "random")``, seeded): how far the critic can tell arrows apart on
  those times.

No `test` song is read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if str(Path(__file__).resolve().parents[1]) not in sys.path:  # `benchmarks` is not an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import data_missing, data_parser  # noqa: E402


def main(argv=None) -> int:
    ap = data_parser(__doc__, difficulty="Beginner")
    ap.add_argument("--critic", type=Path, default=None, help="a folder with another critic.pt (default: shipped)")
    args = ap.parse_args(argv)
    if data_missing(args.root):
        return 0
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.pipeline import make
    from ddc_sm.selection.critic import corrupt, load_critic
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part
    from ddc_sm.timing.estimated import estimated_timing

    d = args.difficulty
    critic = load_critic(str(args.critic) if args.critic else None)
    split = load_split()
    own, even = [], []
    valid = []
    for song in iter_songs([args.root]):
        part = training_part(song.key, split)
        if part == "test":
            continue
        for c in song.charts:
            if c.difficulty != d or len(c.times) < 20:
                continue
            t = np.asarray(c.times)
            own.append(critic.score(c.rows, t, d))
            even.append(critic.score(c.rows, t[0] + np.median(np.diff(t)) * np.arange(len(t)), d))
            if part == "valid" and song.audio_path is not None:
                valid.append((song, c))
    print(f"{d}: {len(own)} train+valid human charts: critic median {np.median(own):.3f} on their own times, "
          f"{np.median(even):.3f} with the same arrows evenly spaced")
    shipped = dict(make.BEAT_SLOT_BONUS)
    rng = np.random.default_rng(0)
    scores: dict[str, list[float]] = {}
    try:
        for song, human in valid:
            audio = load_audio(song.audio_path)
            grid = estimated_timing(song.audio_path)
            scores.setdefault("human arrows, own times", []).append(critic.score(human.rows, human.times, d))
            for name, bonus in (("before the beat slots", {}), ("with the beat slots", shipped)):
                make.BEAT_SLOT_BONUS.clear()
                make.BEAT_SLOT_BONUS.update(bonus)
                ours = make.generate_charts(audio, [d], grid)[0][0]
                n = min(len(human.rows), len(ours.rows))
                scores.setdefault(f"human arrows, our times {name}", []).append(
                    critic.score(human.rows[:n], ours.times[:n], d))
                scores.setdefault(f"our arrows, our times {name}", []).append(critic.score(ours.rows, ours.times, d))
                scores.setdefault(f"random arrows, our times {name}", []).append(
                    critic.score(corrupt(ours.rows, "random", rng), ours.times, d))
    finally:
        make.BEAT_SLOT_BONUS.clear()
        make.BEAT_SLOT_BONUS.update(shipped)
    print(f"{len(valid)} valid charts (critic median):")
    for name, values in scores.items():
        print(f"  {name:48} {np.median(values):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
