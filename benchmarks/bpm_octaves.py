"""Which octave charters write: the distribution of the BPMs human charts in the packs use (issue #14 item 2).

    python benchmarks/bpm_octaves.py            # train+valid songs of ../shared/data (the part a prior may be fitted on)
    python benchmarks/bpm_octaves.py --all      # every song, test included (to look, never to fit)
    python benchmarks/bpm_octaves.py --octave-evidence   # what OCTAVE_UP_* in ddc_sm/timing/tempo.py are fitted on

Per song, its dominant BPM (the tempo of the longest stretch of its simfile's timing, in beats); printed as a
histogram over bands, per pack, with the share that StepMania's usual 80-200 band (``BPM_RANGE`` in
``ddc_sm/timing/tempo.py``, what ``make`` resolves octaves into) would put an octave away from the charter.
``--octave-evidence``: for each constant-tempo train+valid song charted at a BPM ``b`` in 80-200 whose double is
above 200, or at such a double, the two ratios ``ddc_sm.timing.tempo.octave_up`` decides on (b's half-beats over
its beats, 2b's over its own, at the human tempo) and whether the rule writes the charter's octave.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_ROOT = REPO.parent / "shared" / "data" / "packs"
BANDS = (0, 80, 100, 120, 140, 160, 180, 200, 240, 1000)


def dominant_bpm(bpms) -> float:
    """The BPM of the longest stretch (in beats) of ``[(beat, bpm), ...]``; the last stretch counts 64 beats."""
    if not bpms:
        return float("nan")
    spans = [(float(b2) - float(b1), bpm) for (b1, bpm), (b2, _) in zip(bpms, bpms[1:])] + [(64.0, bpms[-1][1])]
    return max(spans, key=lambda s: s[0])[1]


def octave_evidence(root: Path, everything: bool) -> int:
    from ddc_sm import threads

    threads.configure()
    from ddc_sm.audio.decode import load_audio
    from ddc_sm.errors import AudioError
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part
    from ddc_sm.timing.tempo import (BPM_RANGE, MAX_WRITTEN_BPM, OCTAVE_UP_HALF_RATIO, OCTAVE_UP_SLOW_RATIO,
                                     octave_evidence as evidence, onset_envelope)

    split = load_split()
    lo, hi = BPM_RANGE
    agree = total = 0
    print(f"{'charted':>8} {'b':>8} {'b half':>7} {'2b half':>8}  rule  song")
    for song in iter_songs([root], with_charts=False):
        if (not everything and training_part(song.key, split) == "test") or not song.constant_tempo:
            continue
        human = float(song.bpms[0][1]) if song.bpms else float("nan")
        b = human if lo <= human <= hi else human / 2
        if not (lo <= b <= hi and hi < 2 * b <= MAX_WRITTEN_BPM) or song.audio_path is None:
            continue
        try:
            audio = load_audio(song.audio_path)
        except AudioError:
            continue
        onset = onset_envelope(audio.samples, audio.sample_rate)
        slow, fast = evidence(onset.full, onset.hop_s, b)
        up = slow >= OCTAVE_UP_SLOW_RATIO and fast >= OCTAVE_UP_HALF_RATIO
        right = up == (human > hi)
        agree, total = agree + right, total + 1
        print(f"{'2b' if human > hi else 'b':>8} {b:8.2f} {slow:7.3f} {fast:8.3f}  {'2b' if up else 'b ':2s}{'' if right else ' X'}"
              f"  {song.key[:60]}")
    print(f"the rule writes the charter's octave on {agree}/{total} songs ({'all' if everything else 'train+valid'})")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--all", action="store_true", help="every song, test part included")
    ap.add_argument("--octave-evidence", action="store_true",
                    help="the ratios the octave rule is fitted on (train+valid, or every song with --all)")
    args = ap.parse_args(argv)
    if not args.root.is_dir():
        print(f"skipped: {args.root} is absent (the shared data set)")
        return 0
    if args.octave_evidence:
        return octave_evidence(args.root, args.all)
    from ddc_sm.simfiles.dataset import iter_songs
    from ddc_sm.simfiles.splits import load_split, training_part
    from ddc_sm.timing.tempo import BPM_RANGE

    split = load_split()
    rows: dict[str, list[float]] = {}
    for song in iter_songs([args.root], with_charts=False):
        if not args.all and training_part(song.key, split) == "test":
            continue
        rows.setdefault(song.song_dir.parent.name, []).append(dominant_bpm(song.bpms))
    lo, hi = BPM_RANGE
    names = [f"{a}-{b}" if b < 1000 else f"{a}+" for a, b in zip(BANDS, BANDS[1:])]
    print(f"dominant BPM of each song ({'all songs' if args.all else 'train+valid'}), songs per band:")
    print(f"{'pack':14} {'songs':>5} " + " ".join(f"{n:>8}" for n in names) + f"  outside {lo:g}-{hi:g}")
    total = [bpm for v in rows.values() for bpm in v]
    for pack, bpms in sorted(rows.items()) + [("all", total)]:
        counts = [sum(a <= b < c for b in bpms) for a, c in zip(BANDS, BANDS[1:])]
        outside = sum(not (lo <= b <= hi) for b in bpms)
        print(f"{pack:14.14} {len(bpms):5d} " + " ".join(f"{c:8d}" for c in counts)
              + f"  {outside} ({100 * outside / max(1, len(bpms)):.0f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
